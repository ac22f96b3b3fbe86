# want: DWF105 2:3
  FROM alpine
