# UID 100 written with a leading zero is not UID 0.
# want: none
FROM alpine:3.19
USER 0100
