# A created name without the configured UID is "any other name".
# want: DWF102 5:1
FROM debian:12
RUN useradd --create-home app
USER app
