# want: DWF102 3:1
FROM alpine:3.19 AS builder
USER 1000
FROM builder AS final
RUN true
