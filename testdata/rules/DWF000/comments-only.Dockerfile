# A file with comments and no instructions cannot be built; the finding
# sits on the last line, where the parser gave up.
# want: DWF000 1:1

