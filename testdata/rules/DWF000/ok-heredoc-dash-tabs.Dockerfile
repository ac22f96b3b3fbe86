# want: none
FROM alpine:3.19
RUN <<-EOF
	echo tab-indented
	EOF
USER 1001
