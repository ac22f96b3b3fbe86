# docker build: "unknown instruction: FORM".
# want: DWF000 4:1
FROM alpine:3.19
FORM alpine:3.19
USER 1001
