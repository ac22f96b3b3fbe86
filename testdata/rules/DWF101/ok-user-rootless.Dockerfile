# A name that starts with "root" is not root.
# want: none
FROM alpine:3.19
USER rootless
