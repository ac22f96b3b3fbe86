# ENV is inherited through FROM <stage>.
# want: DWF101 6:1
FROM alpine:3.19 AS base
ENV RUN_AS=root
FROM base AS final
USER ${RUN_AS}
