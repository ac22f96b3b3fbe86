# The configured name does not pass when the Dockerfile gives it another UID.
# The finding sits on the RUN that creates the user with the wrong UID.
# want: DWF102 5:1
FROM debian:12
RUN useradd -u 1000 dwfuser
USER dwfuser
