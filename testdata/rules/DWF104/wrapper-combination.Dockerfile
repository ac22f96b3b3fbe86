# Wrappers combine: sudo, timeout, nice and an absolute path.
# want: DWF104 5:3
FROM debian:12
WORKDIR /
  RUN apt-get update \
   && sudo -u builder timeout 600 nice -n 5 /usr/bin/apt-get install -y curl
