# target: build
# want: DWF103 3:1
FROM alpine:3.19 AS build
USER 1001
FROM build AS final
ENTRYPOINT ["tini", "--"]
