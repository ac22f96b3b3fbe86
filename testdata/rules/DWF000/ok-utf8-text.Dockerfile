# want: none
FROM alpine:3.19
LABEL description="Grüße, 你好, emoji 🚀"
USER 1001
