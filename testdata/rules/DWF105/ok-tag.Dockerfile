# want: none
FROM alpine:3.19
