# target: nope
# want: DWF000 1:1
FROM alpine:3.19 AS build
FROM build AS final
