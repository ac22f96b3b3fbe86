# escape=x
# want: DWF000 1:1
FROM alpine:3.19
