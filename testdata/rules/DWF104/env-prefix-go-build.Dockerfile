# want: DWF104 3:1
FROM golang:1.22
RUN CGO_ENABLED=0 GOOS=linux go build -o /app .
