# want: none
from debian:12
run useradd -u 1001 app
user app
