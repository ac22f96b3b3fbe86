# escape=`
# want: DWF101 6:1
FROM alpine:3.19
RUN echo a `
    && echo b
USER root
