package dwf.dockerfile.no_curl_test

import data.dwf.dockerfile.no_curl

run(words) := {"stages": [{"runs": [{
	"location": {"line": 2, "column": 1, "end_line": 2, "end_column": 20},
	"commands": [{"name": words[0], "words": words}],
}]}]}

test_apk_add_curl_is_denied if {
	count(no_curl.deny) == 1 with input as run(["apk", "add", "curl"])
}

test_other_packages_pass if {
	count(no_curl.deny) == 0 with input as run(["apk", "add", "git"])
}
