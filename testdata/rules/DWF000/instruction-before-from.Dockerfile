# Only ARG may come before the first FROM; docker build rejects this file.
# want: DWF000 3:1
RUN echo hello
FROM alpine:3.19
