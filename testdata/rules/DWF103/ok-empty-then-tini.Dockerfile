# want: none
FROM alpine:3.19
ENTRYPOINT []
USER 1001
ENTRYPOINT ["tini", "--"]
