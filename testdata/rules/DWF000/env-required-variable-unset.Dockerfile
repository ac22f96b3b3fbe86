# `${NAME:?message}` fails the build when NAME has no value.
# want: DWF000 4:1
FROM alpine:3.20
ENV HOME_DIR="${APP_HOME:?set APP_HOME}"
USER 1001
