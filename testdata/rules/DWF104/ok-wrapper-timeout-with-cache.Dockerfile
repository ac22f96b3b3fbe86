# want: none
FROM debian:12
RUN --mount=type=cache,target=/var/cache/apt timeout 60 apt-get install -y curl
