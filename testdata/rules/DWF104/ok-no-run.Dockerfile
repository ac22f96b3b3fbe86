# want: none
FROM alpine:3.19
COPY app /app
USER 1001
