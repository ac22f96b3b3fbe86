# ONBUILD runs in images built FROM this one, not in this build.
# want: none
FROM alpine:3.19
USER 1001
ONBUILD USER root
