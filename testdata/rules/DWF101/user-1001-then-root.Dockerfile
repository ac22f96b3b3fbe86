# want: DWF101 4:1
FROM alpine:3.19
USER 1001
USER root
RUN apk add --no-cache curl
