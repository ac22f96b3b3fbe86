# want: DWF101 5:1
FROM golang:1.22 AS builder
USER 1001
RUN go version
FROM alpine:3.19
COPY --from=builder /go/bin/app /app
ENTRYPOINT ["tini", "--", "/app"]
