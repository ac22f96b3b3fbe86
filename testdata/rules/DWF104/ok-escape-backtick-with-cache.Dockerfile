# escape=`
# want: none
FROM debian:12
RUN --mount=type=cache,target=/var/cache/apt `
    apt-get install -y curl
