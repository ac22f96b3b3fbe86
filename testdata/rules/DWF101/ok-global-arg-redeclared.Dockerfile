# want: none
ARG UID=1001
FROM alpine:3.19
ARG UID
USER ${UID}
