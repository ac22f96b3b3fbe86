# want: none
FROM alpine:3.19
RUN <<EOF
apk add --no-cache tini
EOF
USER 1001
ENTRYPOINT ["tini", "--"]
