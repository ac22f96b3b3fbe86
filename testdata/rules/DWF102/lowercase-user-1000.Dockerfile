# want: DWF102 3:1
from alpine:3.19
user 1000
