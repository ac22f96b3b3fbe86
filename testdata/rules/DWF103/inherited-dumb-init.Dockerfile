# The effective ENTRYPOINT comes from the earlier stage; the finding sits on it.
# want: DWF103 4:1
FROM alpine:3.19 AS base
ENTRYPOINT ["dumb-init", "--"]
FROM base AS final
USER 1001
