# One finding per RUN.
# want: DWF104 6:1
# want: DWF104 7:1
# want: DWF104 9:1
FROM debian:12
RUN apt-get update && apt-get install -y curl
RUN apt-get install -y git
RUN echo done
RUN pip install requests
