# want: DWF103 4:1
FROM alpine:3.19 AS builder
ENTRYPOINT ["tini", "--"]
FROM alpine:3.19
USER 1001
