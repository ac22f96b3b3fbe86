# want: none
FROM scratch AS empty
FROM empty
