# want: none
FROM alpine:3.19
ENV HOME=/app APP_UID=1001 PATH=/app/bin:$PATH
USER ${APP_UID}:0
