# want: none
FROM scratch
COPY app /app
