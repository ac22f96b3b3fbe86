# want: none
FROM alpine:3.19
USER ${UID:-1001}
