{{/* The name of every object: the release name. */}}
{{- define "dwf-policy.fullname" -}}
{{- .Release.Name | trunc 58 | trimSuffix "-" -}}
{{- end -}}

{{- define "dwf-policy.labels" -}}
app.kubernetes.io/name: dwf-policy
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: admission-webhook
{{- end -}}

{{- define "dwf-policy.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The exempt namespaces, the release's own added. */}}
{{- define "dwf-policy.exemptNamespaces" -}}
{{- append .Values.webhook.exemptNamespaces .Release.Namespace | uniq | toJson -}}
{{- end -}}

{{/* The DNS names of the serving certificate. */}}
{{- define "dwf-policy.dnsNames" -}}
{{- $n := include "dwf-policy.fullname" . -}}
- {{ $n }}.{{ .Release.Namespace }}.svc
- {{ $n }}.{{ .Release.Namespace }}.svc.cluster.local
{{- if .Values.gate.enabled }}
- {{ $n }}-gate.{{ .Release.Namespace }}.svc
- {{ $n }}-gate.{{ .Release.Namespace }}.svc.cluster.local
{{- end }}
{{- end -}}

{{/* Where the Docker config Secret is mounted. */}}
{{- define "dwf-policy.dockerConfigDir" -}}
/var/run/dwf-policy/registry
{{- end -}}

{{/* The configuration file: .Values.config with the webhook: section made from the values. */}}
{{- define "dwf-policy.config" -}}
{{- $w := .Values.webhook -}}
{{- $section := dict "mode" $w.mode "fail_on" $w.failOn "on_error" $w.onError "pull_secrets" $w.pullSecrets "exempt_namespaces" (include "dwf-policy.exemptNamespaces" . | fromJsonArray) -}}
{{- with $w.ruleModes }}{{ $_ := set $section "rule_modes" . }}{{ end -}}
{{- with $w.allowedRegistries }}{{ $_ := set $section "allowed_registries" . }}{{ end -}}
{{- with $w.insecureRegistries }}{{ $_ := set $section "insecure_registries" . }}{{ end -}}
{{- if $w.dockerConfigSecret }}{{ $_ := set $section "docker_config" (printf "%s/config.json" (include "dwf-policy.dockerConfigDir" .)) }}{{ end -}}
{{- if .Values.gate.enabled -}}
{{- $gate := dict -}}
{{- with .Values.gate.mode }}{{ $_ := set $gate "mode" . }}{{ end -}}
{{- with .Values.gate.exempt }}{{ $_ := set $gate "exempt" . }}{{ end -}}
{{- with .Values.gate.only }}{{ $_ := set $gate "only" . }}{{ end -}}
{{- if $gate }}{{ $_ := set $section "gate" $gate }}{{ end -}}
{{- end -}}
{{- if hasKey .Values.config "webhook" -}}
{{- fail "config.webhook: set the webhook: section through the webhook and gate values" -}}
{{- end -}}
{{- toYaml (merge (dict "webhook" $section) (deepCopy .Values.config)) -}}
{{- end -}}
