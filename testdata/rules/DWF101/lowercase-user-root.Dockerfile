# want: DWF101 3:1
from alpine:3.19
user root
