# want: DWF105 2:1
FROM localhost:5000/team/app
