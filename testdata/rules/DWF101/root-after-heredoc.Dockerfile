# want: DWF101 8:1
FROM alpine:3.19
RUN <<EOF
echo a
echo b
EOF
RUN true
USER root
