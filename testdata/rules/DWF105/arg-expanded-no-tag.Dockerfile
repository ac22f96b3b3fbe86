# want: DWF105 3:1
ARG BASE=alpine
FROM ${BASE} AS build
