# want: DWF103 4:1
FROM alpine:3.19
USER 1001
ENTRYPOINT ["dumb-init", "--", "/app"]
