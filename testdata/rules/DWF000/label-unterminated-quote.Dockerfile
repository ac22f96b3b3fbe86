# BuildKit parses the LABEL but refuses it when it expands its words.
# want: DWF000 4:1
FROM alpine:3.20
LABEL foo="bar baz
USER 1001
