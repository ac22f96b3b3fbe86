# env with an assignment runs the command after it: apt-get is the command.
# want: DWF104 4:1
FROM debian:12
RUN env DEBIAN_FRONTEND=noninteractive apt-get install -y curl
