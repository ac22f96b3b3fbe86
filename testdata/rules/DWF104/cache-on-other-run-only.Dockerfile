# want: DWF104 4:1
FROM golang:1.22
RUN --mount=type=cache,target=/go/pkg/mod go mod download
RUN go build -o /app .
