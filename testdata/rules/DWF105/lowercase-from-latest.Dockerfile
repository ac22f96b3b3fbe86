# want: DWF105 2:1
from alpine:latest
