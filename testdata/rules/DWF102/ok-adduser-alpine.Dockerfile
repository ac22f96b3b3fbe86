# want: none
FROM alpine:3.19
RUN addgroup -g 1001 app && adduser -D -u 1001 -G app app
USER app:app
