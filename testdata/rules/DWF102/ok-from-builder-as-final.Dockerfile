# want: none
FROM debian:12 AS builder
RUN useradd -u 1001 app
USER app
FROM builder AS final
RUN true
