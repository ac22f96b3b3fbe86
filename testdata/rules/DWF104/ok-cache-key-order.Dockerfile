# Mount options in any order.
# want: none
FROM golang:1.22
RUN --mount=target=/root/.cache/go-build,type=cache go build -o /app .
