package dwf.trivy_report.report_for_another_image_test

import data.dwf.trivy_report.report_for_another_image as rule

img := {
	"reference": "registry.test/app:1",
	"subject": "registry.test/app:1@sha256:aaa",
	"digests": ["sha256:aaa", "sha256:a64", "sha256:arm"],
	"config_digests": ["sha256:c64", "sha256:carm"],
	"report_source": "file",
	"report_reference": "trivy.json",
}

loc := {"line": 1, "column": 1, "end_line": 1, "end_column": 1}

doc(digests, image_id, image) := {
	"artifact_name": "registry.test/app:1",
	"digests": digests,
	"image_id": image_id,
	"location": loc,
	"image": image,
}

test_other_digest_fires if {
	rule.deny == {{
		"msg": "The Trivy report of registry.test/app:1 (trivy.json) is for sha256:bbb, not for registry.test/app:1@sha256:aaa (sha256:aaa, sha256:a64, sha256:arm); scan this image by digest and judge that report.",
		"location": loc,
		"subject": "registry.test/app:1@sha256:aaa",
	}} with input as doc(["sha256:bbb"], "", img)
}

test_other_image_id_fires if {
	count(rule.deny) == 1 with input as doc([], "sha256:cother", img)
}

test_no_digest_fires if {
	[f] := [f | some f in rule.deny with input as object.union(doc([], "", img), {"artifact_name": ""})]
	f.msg == "The Trivy report (trivy.json) names no image digest (no Metadata.RepoDigests or ImageID, no attestation subject), so it cannot be shown to be the scan of registry.test/app:1@sha256:aaa; scan the image by digest and judge that report."
}

test_index_digest_passes if {
	count(rule.deny) == 0 with input as doc(["sha256:aaa"], "", img)
}

test_platform_digest_passes if {
	count(rule.deny) == 0 with input as doc(["sha256:other", "sha256:arm"], "", img)
}

test_image_id_passes if {
	count(rule.deny) == 0 with input as doc([], "sha256:c64", img)
}

test_report_as_a_file_is_not_judged if {
	count(rule.deny) == 0 with input as doc(["sha256:bbb"], "", null)
}
