# A `${` without its closing brace cannot be expanded.
# want: DWF000 4:1
FROM alpine:3.20
WORKDIR /app/${DIR
USER 1001
