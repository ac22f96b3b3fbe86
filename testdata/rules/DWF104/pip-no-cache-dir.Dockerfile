# --no-cache-dir is a pip flag, not a cache mount.
# want: DWF104 4:1
FROM python:3.12-slim
RUN pip install --no-cache-dir requests
