# want: DWF104 3:1
FROM debian:12
RUN DEBIAN_FRONTEND=noninteractive apt-get -qq install curl
