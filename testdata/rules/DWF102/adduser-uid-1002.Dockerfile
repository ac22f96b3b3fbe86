# want: DWF102 3:1
FROM alpine:3.19
RUN adduser -D --uid 1002 app
USER app
