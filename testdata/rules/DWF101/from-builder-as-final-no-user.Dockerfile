# want: DWF101 4:1
FROM alpine:3.19 AS builder
RUN true
FROM builder AS final
ENTRYPOINT ["tini", "--"]
