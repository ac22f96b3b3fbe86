# A digest that is too short pins nothing: BuildKit refuses the reference.
# want: DWF105 3:1
FROM ruby@sha256:f1dbca0f5dbc9
