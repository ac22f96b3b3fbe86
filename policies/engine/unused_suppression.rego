# METADATA
# title: Suppressions must suppress something
# description: |
#   An inline suppression comment (`# dwf-policy:ignore DWF104 reason`) that
#   covers no finding of the rules it names: the problem was fixed, the
#   comment is not directly above or at the end of the offending line, the
#   rule ID is misspelt, or the comment lacks a rule ID or a reason. A
#   comment that was meant as a suppression but is not one
#   (`# dwf-policy: ignore ...` with a space, `# DWF-POLICY:IGNORE ...`,
#   `# dwf-policy:disable ...`) suppresses nothing and is reported too, with
#   the comment it should be. A configuration exception whose `paths` match
#   no file of a run over the whole repository is reported the same way, at
#   the exception (a run over some files only does not report it).
#   Suppressions of rules turned off in the configuration are not reported.
#   dwf-policy reports this rule itself; this package only describes it.
# custom:
#   id: DWF002
#   severity: note
#   kind: config
#   name: config/unused-suppression
#   help: |
#     Remove the comment if the finding is gone. Otherwise put it on the line
#     above the offending line, or at its end, with the rule ID and a reason:
#
#     ```dockerfile
#     # dwf-policy:ignore DWF104 the apk cache would end up in the layer anyway
#     RUN apk add --no-cache curl
#     ```
#
#     Several rules are separated by commas: `# dwf-policy:ignore DWF104,DWF105 reason`.
package dwf.engine.unused_suppression
