# want: none
FROM --platform=$BUILDPLATFORM alpine:3.19
USER 1001
