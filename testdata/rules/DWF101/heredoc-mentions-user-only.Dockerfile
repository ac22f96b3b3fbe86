# The USER lines are shell text inside a heredoc, not instructions.
# want: DWF101 3:1
FROM alpine:3.19
RUN <<EOF
echo "USER 1001"
USER 1001
EOF
ENTRYPOINT ["tini", "--"]
