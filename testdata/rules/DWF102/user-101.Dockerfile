# The digits of 1001 in another number do not pass.
# want: DWF102 4:1
FROM alpine:3.19
USER 101
