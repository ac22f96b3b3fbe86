# METADATA
# title: Trivy report helpers
# description: |
#   What the Trivy report rules (DWF401-DWF403) share: the configured
#   thresholds (data.dwf.config.vulnerabilities), the severity a
#   vulnerability counts as, and the accepted vulnerabilities that apply to
#   it (vulnerabilities.ignore and Trivy's ignore files, unexpired).
package dwf.lib.trivy_report

# The `vulnerabilities:` section of the configuration, with its defaults.
config := data.dwf.config.vulnerabilities

# The severities that block (trivy.severities, default CRITICAL and HIGH).
blocked := {s | some s in data.dwf.config.trivy_severities}

# effective_severity(v) is v's severity, UNKNOWN read as configured.
effective_severity(v) := config.unknown_as if v.severity == "UNKNOWN"

effective_severity(v) := v.severity if v.severity != "UNKNOWN"

# Ignore entries whose expiry has not passed; the engine gives time.now_ns
# the checker's clock, the one that also reports expired entries (DWF001).
live_ignores := [ig |
	some ig in config.ignore
	live(ig)
]

live(ig) if ig.expires == ""

live(ig) if {
	ig.expires != ""
	time.now_ns() < time.parse_ns("2006-01-02", ig.expires)
}

# ignore_reasons(v) are the reasons of the live entries that accept v.
ignore_reasons(v) := [ig.reason |
	some ig in live_ignores
	matches(ig, v)
]

matches(ig, v) if {
	ig.id == v.id
	package_matches(ig, v)
	purl_matches(ig, v)
	path_matches(ig, v)
}

package_matches(ig, _) if count(ig.packages) == 0

package_matches(ig, v) if v.pkg_name in ig.packages

purl_matches(ig, _) if count(ig.purls) == 0

purl_matches(ig, v) if {
	some p in ig.purls
	startswith(v.purl, p)
}

path_matches(ig, _) if count(ig.paths) == 0

# Paths are globs of the target or the package's path inside the scanned
# artifact, as in Trivy's .trivyignore.yaml.
path_matches(ig, v) if {
	some g in ig.paths
	some p in [v.target, v.pkg_path]
	p != ""
	glob.match(g, ["/"], p)
}
