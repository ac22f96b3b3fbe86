# want: DWF102 3:1
FROM debian:12
RUN groupadd -g 1000 dwfuser && useradd --uid 1000 -g dwfuser dwfuser
USER dwfuser:dwfuser
