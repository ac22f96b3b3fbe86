# sudo -u takes the user as its argument: apt-get is the command.
# want: DWF104 4:1
FROM debian:12
RUN sudo -u builder apt-get install -y curl
