# escape=`
# want: none
FROM alpine:3.19
RUN echo a `
    && echo b
USER 1001
