# sudo -E keeps the environment; VAR=value words before the command set it.
# want: DWF104 4:1
FROM debian:12
RUN sudo -E DEBIAN_FRONTEND=noninteractive apt-get install -y curl
