# want: none
FROM alpine:3.19 AS base
ENTRYPOINT ["/sbin/tini", "--"]
FROM base AS final
USER 1001
CMD ["/app"]
