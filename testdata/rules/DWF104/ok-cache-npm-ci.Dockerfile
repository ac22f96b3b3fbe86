# want: none
FROM node:20-alpine
RUN --mount=type=cache,target=/root/.npm npm ci
