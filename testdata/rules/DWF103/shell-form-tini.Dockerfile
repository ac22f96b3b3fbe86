# Shell form: PID 1 is /bin/sh even though the command names tini.
# want: DWF103 5:1
FROM alpine:3.19
USER 1001
ENTRYPOINT tini -- /app
