# want: DWF104 3:1
FROM debian:12
RUN env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin apt-get install -y curl
