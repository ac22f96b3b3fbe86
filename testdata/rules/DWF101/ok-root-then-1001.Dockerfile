# want: none
FROM alpine:3.19
USER root
RUN apk add --no-cache curl
USER 1001
