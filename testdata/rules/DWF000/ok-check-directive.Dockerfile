# check=skip=JSONArgsRecommended
# want: none
FROM alpine:3.19
CMD echo hi
