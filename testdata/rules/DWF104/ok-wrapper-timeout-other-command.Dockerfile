# want: none
FROM debian:12
RUN timeout 60 apt-get update && env -i PATH=/bin sh -c "echo apt-get install"
