# want: none
FROM debian:12
RUN --network=host --security=insecure --mount=type=cache,target=/var/cache/apt apt-get install -y curl
