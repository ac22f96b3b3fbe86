# The effective USER of the final stage is the builder's USER root; the
# finding sits on the instruction that justifies it.
# want: DWF101 5:1
FROM alpine:3.19 AS builder
USER root
RUN true
FROM builder AS final
RUN true
