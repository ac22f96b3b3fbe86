# want: DWF105 2:1
FROM registry.example.com:5000/team/img:latest
