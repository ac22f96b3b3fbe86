# The argument of sudo -u is a user, even one named like a package tool.
# want: none
FROM debian:12
RUN sudo -u apt-get install -d /home/x
