# UIDs compare numerically.
# want: none
FROM alpine:3.19
USER 01001
