package dwf.lib.workflow_test

import data.dwf.lib.workflow as lib

test_one_line_joins_continuations if {
	lib.one_line("trivy image \\\n    --severity CRITICAL \\\r\n    app:1") == "trivy image --severity CRITICAL app:1"
}

test_one_line_joins_lines if {
	lib.one_line("set +e\n  trivy fs .\n") == "set +e trivy fs ."
}

test_one_line_keeps_a_short_line if {
	lib.one_line("trivy image app") == "trivy image app"
}

test_one_line_shortens if {
	s := lib.one_line(concat(" ", ["trivy image", strings.replace_n({"x": "a"}, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]))
	count(s) == lib.max_quote
	endswith(s, "…")
	not contains(s, "\n")
}
