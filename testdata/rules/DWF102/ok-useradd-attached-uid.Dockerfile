# want: none
FROM debian:12
RUN useradd -u1001 app
USER app
