# want: DWF105 2:1
FROM docker.io/library/alpine
