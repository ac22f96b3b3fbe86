# want: DWF104 3:1
FROM debian:12
RUN sudo -- apt-get install -y curl
