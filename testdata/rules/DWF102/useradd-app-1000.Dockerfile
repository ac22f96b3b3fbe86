# want: DWF102 3:1
FROM debian:12
RUN useradd -u 1000 app
USER app
