# want: none
FROM alpine:3.19
USER 1000
RUN true
USER 1001
