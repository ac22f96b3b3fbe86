# "\/" is a valid JSON escape for "/".
# want: none
FROM alpine:3.19
USER 1001
ENTRYPOINT ["\/sbin\/tini", "--"]
