# want: none
from alpine:3.19
run --mount=type=cache,target=/etc/apk/cache apk add curl
