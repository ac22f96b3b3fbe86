# want: none
ARG TAG
FROM alpine:${TAG:-3.19}
