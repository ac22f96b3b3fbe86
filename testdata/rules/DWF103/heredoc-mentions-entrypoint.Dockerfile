# The ENTRYPOINT line is heredoc text, not an instruction.
# want: DWF103 3:1
FROM alpine:3.19
RUN <<EOF
ENTRYPOINT ["tini", "--"]
EOF
USER 1001
