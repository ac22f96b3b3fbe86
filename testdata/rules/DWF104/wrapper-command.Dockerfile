# command without -v runs its operand.
# want: DWF104 4:1
FROM debian:12
RUN command apt-get install -y curl
