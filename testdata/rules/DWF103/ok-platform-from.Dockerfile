# want: none
FROM --platform=$TARGETPLATFORM alpine:3.19
USER 1001
ENTRYPOINT ["tini", "--"]
