# METADATA
# title: Exceptions must not outlive their expiry date
# description: |
#   An exception in .dwf-policy.yaml whose `expires` date has come no longer
#   suppresses the findings it covered: they count again, and this finding
#   points at the exception's `expires` line so it is renewed with a new
#   reason or removed. Dates are days in UTC; an exception expiring on
#   2025-07-01 applies until the end of 2025-06-30. dwf-policy reports this
#   rule itself; this package only describes it.
# custom:
#   id: DWF001
#   severity: warning
#   kind: config
#   name: config/expired-exception
#   help: |
#     Fix the findings the exception covered and delete it, or, if the reason
#     still holds, give it a new date (and say why in `reason`):
#
#     ```yaml
#     exceptions:
#       - rule: DWF104
#         paths: ["legacy/**"]
#         reason: legacy images are rebuilt without BuildKit until the Q3 migration
#         expires: 2025-10-01
#     ```
package dwf.engine.expired_exception
