# want: none
FROM debian:12
USER 1001
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
