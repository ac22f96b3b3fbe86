# want: DWF104 3:1
from alpine:3.19
run apk add curl
