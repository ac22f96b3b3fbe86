# want: DWF103 4:5
FROM alpine:3.19
USER 1001
    ENTRYPOINT /app
