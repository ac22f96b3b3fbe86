# want: none
FROM debian:12
RUN echo apt-get install curl | xargs -r echo
