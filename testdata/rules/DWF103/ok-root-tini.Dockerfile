# want: none
FROM alpine:3.19
ADD --chmod=755 https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini
USER 1001
ENTRYPOINT ["/tini", "--"]
