# want: none
FROM golang:1.22 AS builder
USER root
RUN go version
FROM alpine:3.19
USER 1001
