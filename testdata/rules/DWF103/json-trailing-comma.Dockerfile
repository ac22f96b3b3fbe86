# A JSON array with a syntax error is shell form.
# want: DWF103 5:1
FROM alpine:3.19
USER 1001
ENTRYPOINT ["tini", "--",]
