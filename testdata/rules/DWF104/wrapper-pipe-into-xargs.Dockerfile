# want: DWF104 4:1
FROM debian:12
COPY packages.txt /tmp/
RUN grep -v "^#" /tmp/packages.txt | xargs -r apt-get install -y
