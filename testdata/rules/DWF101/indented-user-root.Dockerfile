# want: DWF101 4:3
FROM alpine:3.19
RUN true
  USER root
