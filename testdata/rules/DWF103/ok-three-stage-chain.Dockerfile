# want: none
FROM alpine:3.19 AS a
ENTRYPOINT ["/sbin/tini", "--"]
FROM a AS b
FROM b AS c
USER 1001
