# want: DWF104 4:3
FROM golang:1.22
WORKDIR /src
  RUN go mod download
