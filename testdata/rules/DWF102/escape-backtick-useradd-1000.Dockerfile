# escape=`
# want: DWF102 4:1
FROM debian:12
RUN useradd `
    -u 1000 app
USER app
