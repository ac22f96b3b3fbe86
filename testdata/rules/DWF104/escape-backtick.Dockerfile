# escape=`
# want: DWF104 4:1
FROM debian:12
RUN apt-get update `
 && apt-get install -y curl
