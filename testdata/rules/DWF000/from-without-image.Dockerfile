# docker build: "FROM requires either one or three arguments".
# want: DWF000 3:1
FROM
USER 1001
