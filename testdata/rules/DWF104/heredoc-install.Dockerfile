# want: DWF104 3:1
FROM debian:12
RUN <<EOF
set -e
apt-get update
apt-get install -y curl
EOF
