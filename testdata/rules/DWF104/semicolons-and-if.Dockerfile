# want: DWF104 3:1
FROM alpine:3.19
RUN set -eux; if [ -n "$EXTRA" ]; then apk add curl; fi
