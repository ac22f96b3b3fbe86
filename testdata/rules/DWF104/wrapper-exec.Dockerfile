# want: DWF104 3:1
FROM alpine:3.19
RUN exec apk add curl
