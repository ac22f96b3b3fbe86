# want: none
FROM alpine:3.19
USER dwfuser
