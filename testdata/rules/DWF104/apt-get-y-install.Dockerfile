# want: DWF104 3:1
FROM debian:12
RUN apt-get update && apt-get -y install curl
