# want: none
FROM golang:1.22
RUN --mount=type=cache,target=/root/.cache/go-build nice -n 10 go build -o /app .
