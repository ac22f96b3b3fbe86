# An ARG inside a stage is not visible in a later FROM: the tag is empty.
# want: DWF105 5:1
FROM alpine:3.19 AS a
ARG V=3.19
FROM alpine:${V}
