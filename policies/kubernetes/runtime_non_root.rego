# METADATA
# title: A workload's containers must not run as root
# description: >-
#   Judged per container (init, regular and ephemeral) of every workload:
#   the effective runAsUser (the container's securityContext over the pod's)
#   must not be 0, whatever runAsNonRoot says (with runAsNonRoot true the
#   kubelet refuses such a pod). A non-zero effective runAsUser, or an
#   effective `runAsNonRoot: true` (the kubelet then refuses a root image,
#   as Pod Security "restricted" requires), passes. When the manifest sets
#   neither, the image's user decides if `--resolve-images` resolved it
#   (every platform); if not, the rule fires: nothing in the manifest keeps
#   the container off root.
# schemas:
#   - input: schema.kubernetes
# custom:
#   id: DWF601
#   severity: error
#   kind: kubernetes
#   help: |
#     Run the container as the standard non-root user, and let the kubelet
#     refuse anything else:
#
#     ```yaml
#     spec:
#       securityContext:
#         runAsNonRoot: true
#         runAsUser: 1001
#       containers:
#         - name: app
#           image: registry.example/app:1.0
#     ```
package dwf.kubernetes.runtime_non_root

import data.dwf.lib.kubernetes as lib

deny contains finding if {
	some w in input.workloads
	some c in w.containers
	some finding in lib.root_problems(w, c)
}
