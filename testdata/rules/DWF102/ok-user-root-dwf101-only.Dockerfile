# DWF102 stays silent while DWF101 fires.
# want: none
FROM alpine:3.19
USER root
