# want: none
from alpine:3.19 as build
from build
