# A --mount without type= is a bind mount.
# want: DWF104 4:1
FROM golang:1.22
RUN --mount=target=/src go build -o /app /src
