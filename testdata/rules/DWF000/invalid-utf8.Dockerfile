# want: DWF000 4:13
FROM alpine:3.19
USER 1001
LABEL x="café latin-1"
