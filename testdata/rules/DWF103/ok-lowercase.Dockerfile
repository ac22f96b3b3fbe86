# want: none
from alpine:3.19
user 1001
entrypoint ["tini", "--"]
