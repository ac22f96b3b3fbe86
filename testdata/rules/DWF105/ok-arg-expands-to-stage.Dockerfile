# want: none
ARG STAGE=build
FROM golang:1.22 AS build
FROM ${STAGE}
