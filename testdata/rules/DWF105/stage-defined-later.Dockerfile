# "app" is a stage only after it is defined; before that it is an image.
# want: DWF105 3:1
FROM app AS first
FROM alpine:3.19 AS app
