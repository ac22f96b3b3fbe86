# want: DWF104 3:1
FROM debian:12
RUN --mount=type=tmpfs,target=/var/cache/apt apt-get install -y curl
