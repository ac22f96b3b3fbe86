# The words are an argument of echo, not a command.
# want: none
FROM debian:12
RUN echo "run apt-get install -y curl to get curl"
