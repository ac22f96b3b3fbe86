# want: DWF103 2:1
FROM alpine:3.19
USER 1001
CMD ["/app"]
