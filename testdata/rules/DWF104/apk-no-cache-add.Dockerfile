# --no-cache is an apk flag, not a cache mount: the spec lists `apk add`.
# want: DWF104 4:1
FROM alpine:3.19
RUN apk --no-cache add curl
