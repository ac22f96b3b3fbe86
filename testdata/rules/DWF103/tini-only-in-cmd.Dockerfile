# want: DWF103 4:1
FROM alpine:3.19
USER 1001
CMD ["tini", "--", "/app"]
