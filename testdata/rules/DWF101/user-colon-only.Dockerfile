# want: DWF101 3:1
FROM alpine:3.19
USER :
