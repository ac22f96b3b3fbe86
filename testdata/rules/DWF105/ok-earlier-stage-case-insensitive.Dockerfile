# Stage names are case-insensitive.
# want: none
FROM golang:1.22 AS Build
FROM build
