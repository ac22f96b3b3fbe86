# want: DWF102 3:1
FROM node:20-alpine
USER node
