# target: build
# want: DWF101 3:1
FROM alpine:3.19 AS build
RUN true
FROM build AS final
USER 1001
