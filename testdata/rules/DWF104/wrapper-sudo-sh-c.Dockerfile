# want: DWF104 3:1
FROM debian:12
RUN sudo sh -c 'timeout 60 apt-get install -y curl'
