# want: none
FROM debian:12
RUN useradd -u 1001 app
USER app
