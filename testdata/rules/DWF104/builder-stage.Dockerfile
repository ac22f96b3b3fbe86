# Every RUN counts, not only the final stage's.
# want: DWF104 4:1
FROM golang:1.22 AS build
RUN go build -o /app .
FROM alpine:3.19
COPY --from=build /app /app
