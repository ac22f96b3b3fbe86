# Re-declaring the global ARG in another stage does not make it visible here.
# want: DWF101 7:1
ARG UID=1001
FROM alpine:3.19 AS build
ARG UID
FROM alpine:3.19
USER ${UID}
