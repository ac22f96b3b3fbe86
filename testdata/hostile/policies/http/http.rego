# METADATA
# title: Hostile-suite http.send rule
# description: Tries to read a host file as a CA bundle through http.send (the test fills in OUTSIDE_CREDENTIALS).
# custom:
#   id: HOS914
#   severity: warning
#   kind: workflow
package dwf.workflow.hostile_http

deny contains {"msg": sprintf("%v", [r])} if {
	r := http.send({
		"method": "GET",
		"url": "https://127.0.0.1:1/",
		"tls_ca_cert_file": "OUTSIDE_CREDENTIALS",
		"raise_error": false,
	})
}
