# want: DWF104 3:1
FROM debian:12
RUN ["sudo", "-u", "builder", "apt-get", "install", "-y", "curl"]
