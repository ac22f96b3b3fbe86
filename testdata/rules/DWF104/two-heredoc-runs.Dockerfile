# want: DWF104 4:1
# want: DWF104 10:1
FROM debian:12
RUN <<EOF
apt-get install -y curl
EOF
COPY <<EOF /etc/motd
hello
EOF
RUN <<EOF bash
pip install requests
EOF
