# want: DWF104 3:1
FROM python:3.12-slim
RUN pip3 install --user requests
