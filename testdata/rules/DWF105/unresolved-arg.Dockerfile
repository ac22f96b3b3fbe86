# An ARG without a default cannot be verified as pinned.
# want: DWF105 4:1
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
