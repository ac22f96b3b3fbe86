# want: none
FROM alpine:3.19
RUN <<"EOT"
echo "$HOME is not expanded by the Dockerfile"
EOT
