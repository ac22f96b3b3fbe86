# want: DWF104 3:1
FROM debian:12
RUN <<EOF
set -e
sudo -u builder apt-get update
sudo -u builder apt-get install -y curl
EOF
