# want: DWF101 3:2
FROM alpine:3.19
	USER root
