# want: none
FROM debian:12
RUN useradd --uid=1001 --create-home app
USER app
