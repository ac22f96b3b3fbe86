# want: DWF102 5:1
FROM golang:1.22 AS builder
USER 1001
FROM alpine:3.19
USER 1000
