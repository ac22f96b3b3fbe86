# The :5000 is the registry port, not a tag.
# want: DWF105 3:1
FROM registry:5000/img
