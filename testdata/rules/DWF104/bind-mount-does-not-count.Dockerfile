# want: DWF104 3:1
FROM golang:1.22
RUN --mount=type=bind,source=.,target=/src go build -o /app /src
