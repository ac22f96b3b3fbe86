# want: DWF104 3:1
FROM debian:12
RUN /usr/bin/apt-get install -y curl
