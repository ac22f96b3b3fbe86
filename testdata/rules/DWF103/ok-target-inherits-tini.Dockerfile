# target: app
# want: none
FROM alpine:3.19 AS base
ENTRYPOINT ["tini", "--"]
FROM base AS app
USER 1001
FROM alpine:3.19 AS other
