# want: DWF105 2:1
FROM alpine
