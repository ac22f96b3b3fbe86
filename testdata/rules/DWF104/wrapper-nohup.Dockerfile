# want: DWF104 3:1
FROM node:20-alpine
RUN nohup npm ci
