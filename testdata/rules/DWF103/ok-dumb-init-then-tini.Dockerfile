# want: none
FROM alpine:3.19
ENTRYPOINT ["dumb-init", "--"]
USER 1001
ENTRYPOINT ["tini", "--"]
