# want: none
FROM registry:5000/img:1.2.3
