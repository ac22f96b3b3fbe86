# want: DWF105 2:1
FROM --platform=$BUILDPLATFORM golang AS build
FROM scratch
COPY --from=build /app /app
