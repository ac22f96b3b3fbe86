# want: none
FROM node:20-alpine
RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install
