# want: DWF000 3:1
FROM alpine:3.19
RUN <<EOF
echo hello
