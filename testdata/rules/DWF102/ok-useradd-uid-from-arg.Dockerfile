# An ARG is in the environment of RUN, so the shell sees -u 1001.
# want: none
FROM debian:12
ARG APP_UID=1001
RUN useradd -u "${APP_UID}" app
USER app
