# want: none
from alpine:3.19
run true
user 1001
