# want: none
FROM alpine:3.19
RUN <<EOF
set -e
adduser -D -u 1001 dwfuser
EOF
USER 1001
