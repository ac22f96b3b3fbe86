# want: DWF103 4:1
from alpine:3.19
user 1001
entrypoint ["dumb-init", "--"]
