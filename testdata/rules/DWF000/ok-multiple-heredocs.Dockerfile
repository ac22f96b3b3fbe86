# want: none
FROM alpine:3.19
COPY <<one.txt <<two.txt /tmp/
first
one.txt
second
two.txt
RUN <<EOF cat > /etc/motd
hello
EOF
