# sudo -l lists whether the command is allowed; it does not run it.
# want: none
FROM debian:12
RUN sudo -l apt-get install -y curl
