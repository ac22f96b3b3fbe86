# A sha256 digest is exactly 64 hex digits; 65 is not a digest.
# want: DWF105 3:1
FROM alpine@sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b0
