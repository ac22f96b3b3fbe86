# nobody is not root: DWF102 fires for it, DWF101 does not.
# want: none
FROM alpine:3.19
USER nobody
