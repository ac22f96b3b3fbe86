# want: DWF105 8:1
FROM alpine:3.19
RUN echo a \
# a comment inside the continuation
\
    && echo b

FROM alpine
