# want: none
FROM debian:12
RUN <<EOF
set -e
useradd -u 1001 app
EOF
USER app
