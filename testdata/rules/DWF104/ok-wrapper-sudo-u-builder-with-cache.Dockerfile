# want: none
FROM debian:12
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    sudo -u builder apt-get install -y curl
