# want: none
FROM alpine:3.19
RUN --mount=type=cache,target=/etc/apk/cache apk add curl
