# The script of bash -c is read as shell, options before -c included.
# want: DWF104 4:1
FROM alpine:3.19
RUN bash -o pipefail -c "apk add curl | tee /tmp/log"
