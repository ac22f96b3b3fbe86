# want: none
FROM debian:12
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    apt-get update && apt-get -y install curl
