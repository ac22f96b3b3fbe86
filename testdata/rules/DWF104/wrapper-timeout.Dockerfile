# want: DWF104 3:1
FROM debian:12
RUN timeout 60 apt-get install -y curl
