# want: none
FROM golang:1.22
RUN apt-get update
RUN go test ./... && go vet ./...
RUN npm run build
RUN cargo test
RUN pip --version
