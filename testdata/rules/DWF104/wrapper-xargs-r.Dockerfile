# want: DWF104 4:1
FROM debian:12
COPY packages.txt /tmp/
RUN xargs -r -a /tmp/packages.txt apt-get install -y
