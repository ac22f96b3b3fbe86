# Only the basename of the program counts.
# want: DWF103 5:1
FROM alpine:3.19
USER 1001
ENTRYPOINT ["/opt/tini/bin/start", "--"]
