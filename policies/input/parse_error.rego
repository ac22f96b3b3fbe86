# METADATA
# title: Files must be parseable
# description: |
#   A file that dwf-policy was asked to check but cannot parse (a Dockerfile
#   BuildKit rejects, an unterminated heredoc, invalid UTF-8, a binary or
#   oversized file, a file that cannot be read) becomes one finding naming
#   the file and the line where parsing stopped. A Dockerfile instruction
#   BuildKit parses but cannot expand when it builds (`LABEL foo="bar baz`
#   with an unterminated quote, a `${` without its `}`, `${NAME:?message}`
#   with NAME unset) is refused here too, at its line, in BuildKit's words;
#   so is a workflow GitHub refuses (an unknown key, an empty
#   `permissions:`). No other rule can check
#   such a file; the other files are still checked. The engine reports this
#   rule itself; this package only describes it.
# custom:
#   id: DWF000
#   severity: error
#   kind: input
#   help: |
#     Fix the syntax error at the reported line, or keep the file out of the
#     check if it is not what its name suggests (a `Dockerfile.md`, a binary,
#     a template). Building the file shows the same error:
#
#     ```sh
#     docker buildx build --check -f path/to/Dockerfile .
#     ```
#
#     A heredoc needs its closing word alone on a line:
#
#     ```dockerfile
#     RUN <<EOF
#     apt-get update
#     EOF
#     ```
package dwf.input.parse_error
