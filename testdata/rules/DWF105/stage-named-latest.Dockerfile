# The first FROM is unpinned; the second names the stage "latest".
# want: DWF105 3:1
FROM ubuntu:latest AS latest
FROM latest
