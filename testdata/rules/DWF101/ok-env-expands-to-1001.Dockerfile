# want: none
FROM alpine:3.19
ENV APP_UID=1001
USER $APP_UID
