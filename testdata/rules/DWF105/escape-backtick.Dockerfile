# escape=`
# want: DWF105 3:1
FROM `
    alpine:latest
