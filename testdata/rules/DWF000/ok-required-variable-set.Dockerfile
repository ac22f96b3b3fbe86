# `${NAME:?message}` with NAME set expands.
# want: none
FROM alpine:3.20
ARG APP_HOME=/app
ENV HOME_DIR="${APP_HOME:?set APP_HOME}"
LABEL org.opencontainers.image.title="app \"quoted\""
USER 1001
