# want: none
FROM alpine:3.19 AS builder
RUN adduser -D -u 1001 dwfuser
USER 1001
FROM builder AS final
ENTRYPOINT ["tini", "--"]
