# escape=`
# want: none
FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN powershell -Command `
    Write-Host C:\path\to\app
