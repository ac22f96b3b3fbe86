# want: none
FROM debian:12
RUN apt-get update \
# a comment in the middle of a continuation is dropped
    && echo done
