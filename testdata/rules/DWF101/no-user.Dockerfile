# want: DWF101 2:1
FROM alpine:3.19
RUN apk add --no-cache tini
ENTRYPOINT ["tini", "--"]
