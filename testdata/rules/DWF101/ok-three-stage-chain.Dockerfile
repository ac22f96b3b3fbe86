# want: none
FROM alpine:3.19 AS a
USER 0
FROM a AS b
USER 1001
FROM b AS c
RUN true
