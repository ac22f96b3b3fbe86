# want: DWF104 3:1
FROM golang:1.22
RUN nice -n 10 go build -o /app .
