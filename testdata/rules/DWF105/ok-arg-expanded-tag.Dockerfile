# want: none
ARG BASE=alpine:3.19
FROM ${BASE}
