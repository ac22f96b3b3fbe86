# want: DWF101 3:1
FROM alpine:3.19 AS a
USER 0
FROM a AS b
RUN true
FROM b AS c
RUN true
