# want: DWF101 4:1
FROM alpine:3.19
ENV RUN_AS=root
USER $RUN_AS
