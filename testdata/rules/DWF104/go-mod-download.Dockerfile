# want: DWF104 3:1
FROM golang:1.22
RUN go mod download
