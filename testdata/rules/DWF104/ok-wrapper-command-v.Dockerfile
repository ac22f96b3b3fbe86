# command -v only says where apt-get is; it runs nothing.
# want: none
FROM debian:12
RUN command -v apt-get && echo "apt-get is present"
