# want: none
FROM python:3.12-slim
RUN --mount=type=cache,target=/root/.cache/pip python -m pip install requests
