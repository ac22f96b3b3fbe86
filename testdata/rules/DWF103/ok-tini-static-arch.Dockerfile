# want: none
FROM alpine:3.19
USER 1001
ENTRYPOINT ["/usr/local/bin/tini-static-amd64", "--"]
