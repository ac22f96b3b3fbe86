# want: DWF104 3:1
FROM debian:12
RUN ["apt-get", "install", "-y", "curl"]
