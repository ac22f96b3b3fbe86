# env with no command prints the environment.
# want: none
FROM debian:12
RUN env | grep -q apt-get
