# target: runtime
# want: none
FROM alpine:3.19 AS runtime
USER 1001
ENTRYPOINT ["tini", "--"]
FROM runtime AS debug
ENTRYPOINT ["/bin/sh"]
