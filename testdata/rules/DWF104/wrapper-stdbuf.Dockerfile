# want: DWF104 3:1
FROM python:3.12-slim
RUN stdbuf -oL pip install -r requirements.txt
