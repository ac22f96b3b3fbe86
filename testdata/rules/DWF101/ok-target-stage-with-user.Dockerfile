# target: runtime
# want: none
FROM alpine:3.19 AS runtime
USER 1001
FROM runtime AS debug
USER root
