# want: DWF102 3:1
FROM alpine:3.19
USER ${UID:-1000}
