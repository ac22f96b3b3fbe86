# want: none
FROM golang:1.22
RUN --mount=type=bind,target=/src --mount=type=cache,target=/root/.cache/go-build \
    cd /src && go build -o /app .
