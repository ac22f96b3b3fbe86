# Exec form is not expanded, even when the variable has an ENV value.
# want: DWF103 6:1
FROM alpine:3.19
ENV TINI=/sbin/tini
USER 1001
ENTRYPOINT ["${TINI}", "--"]
