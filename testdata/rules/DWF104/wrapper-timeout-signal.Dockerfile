# timeout -s takes the signal; the duration comes next, then the command.
# want: DWF104 4:1
FROM python:3.12-slim
RUN timeout -s KILL 600 pip install requests
