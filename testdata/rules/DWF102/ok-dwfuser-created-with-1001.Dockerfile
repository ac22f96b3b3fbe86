# want: none
FROM debian:12
RUN groupadd -g 1001 dwfuser && useradd -u 1001 -g dwfuser dwfuser
USER dwfuser
