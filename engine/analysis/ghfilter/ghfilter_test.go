package ghfilter

import (
	"regexp"
	"testing"
)

// The cases are the "Patterns to match file paths" and "Patterns to match
// branches and tags" tables of GitHub's workflow syntax reference
// (github/docs, content/actions/reference/workflows-and-actions/
// workflow-syntax.md, "Filter pattern cheat sheet"): every example match
// listed there, and names the descriptions exclude.
func TestDocumentedExamples(t *testing.T) {
	tests := []struct {
		patterns []string
		match    []string
		noMatch  []string
	}{
		// Patterns to match file paths.
		{[]string{"*"}, []string{"README.md", "server.rb"}, []string{"docs/README.md"}},
		{[]string{"*.jsx?"}, []string{"page.js", "page.jsx"}, []string{"page.jsxx", "src/page.js"}},
		{[]string{"**"}, []string{"all/the/files.md", "README.md"}, nil},
		{[]string{"*.js"}, []string{"app.js", "index.js"}, []string{"src/app.js"}},
		{[]string{"**.js"}, []string{"index.js", "js/index.js", "src/js/app.js"}, []string{"index.jsx"}},
		{[]string{"docs/*"}, []string{"docs/README.md", "docs/file.txt"}, []string{"docs/mona/octocat.txt", "README.md"}},
		{[]string{"docs/**"}, []string{"docs/README.md", "docs/mona/octocat.txt"}, []string{"dir/docs/x.md", "docsy/a.md"}},
		{[]string{"docs/**/*.md"}, []string{"docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"}, []string{"docs/a/file.txt", "README.md"}},
		{[]string{"**/docs/**"}, []string{"docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"}, []string{"mydocs/a.md"}},
		{[]string{"**/README.md"}, []string{"README.md", "js/README.md"}, []string{"README.md.bak", "js/NOTREADME.md"}},
		{[]string{"**/*src/**"}, []string{"a/src/app.js", "my-src/code/js/app.js"}, []string{"src.js", "a/source/app.js"}},
		{[]string{"**/*-post.md"}, []string{"my-post.md", "path/their-post.md"}, []string{"post.md"}},
		{[]string{"**/migrate-*.sql"}, []string{"migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"}, []string{"db/migrate.sql"}},
		{[]string{"*.md", "!README.md"}, []string{"hello.md"}, []string{"README.md", "docs/hello.md"}},
		{[]string{"*.md", "!README.md", "README*"}, []string{"hello.md", "README.md", "README.doc"}, []string{"docs/hello.md"}},
		// Patterns to match branches and tags.
		{[]string{"feature/*"}, []string{"feature/my-branch", "feature/your-branch"}, []string{"feature/beta-a/my-branch"}},
		{[]string{"feature/**"}, []string{"feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"}, []string{"main"}},
		{[]string{"main", "releases/mona-the-octocat"}, []string{"main", "releases/mona-the-octocat"}, []string{"main2", "releases/mona"}},
		{[]string{"*"}, []string{"main", "releases"}, []string{"releases/v1"}},
		{[]string{"**"}, []string{"all/the/branches", "every/tag"}, nil},
		{[]string{"*feature"}, []string{"mona-feature", "feature", "ver-10-feature"}, []string{"feature-x"}},
		{[]string{"v2*"}, []string{"v2", "v2.0", "v2.9"}, []string{"v3", "v2/x"}},
		{[]string{"v[12].[0-9]+.[0-9]+"}, []string{"v1.10.1", "v2.0.0"}, []string{"v3.0.0", "v1..1", "v1x10.1"}},
		// The cheat sheet's own examples.
		{[]string{"Octo*"}, []string{"Octocat"}, nil},
		{[]string{"[CB]at"}, []string{"Cat", "Bat"}, []string{"Mat", "at"}},
		{[]string{"[1-2]00"}, []string{"100", "200"}, []string{"300"}},
		{[]string{"[0-9a-z]"}, []string{"7", "q"}, []string{"Q", "-"}},
		// The branch example of on.push.branches: a negation after a
		// positive pattern excludes.
		{[]string{"releases/**", "!releases/**-alpha"}, []string{"releases/10", "releases/beta/mona"}, []string{"releases/10-alpha", "releases/beta/3-alpha"}},
		// The path example of on.push.paths.
		{[]string{"sub-project/**", "!sub-project/docs/**"}, []string{"sub-project/index.js", "sub-project/src/index.js"}, []string{"sub-project/docs/readme.md"}},
	}
	for _, tt := range tests {
		var ps []*Pattern
		for _, raw := range tt.patterns {
			p, err := Compile(raw)
			if err != nil {
				t.Fatalf("Compile(%q): %v", raw, err)
			}
			if _, err := regexp.Compile(p.Regex); err != nil {
				t.Fatalf("%q: regex %q: %v", raw, p.Regex, err)
			}
			ps = append(ps, p)
		}
		for _, name := range tt.match {
			if !Match(ps, name) {
				t.Errorf("%q does not match %q", tt.patterns, name)
			}
		}
		for _, name := range tt.noMatch {
			if Match(ps, name) {
				t.Errorf("%q matches %q", tt.patterns, name)
			}
		}
	}
}

func TestSyntax(t *testing.T) {
	tests := []struct {
		raw     string
		negated bool
		regex   string
	}{
		{"docs/**", false, `^docs/.*$`},
		{"!**/*.md", true, `^(?:.*/)?[^/]*\.md$`},
		{"a!b", false, `^a!b$`},
		{`\*.md`, false, `^\*\.md$`},
		{"?a", false, `^\?a$`},       // nothing precedes: literal
		{"**?", false, `^.*\?$`},     // a wildcard is not repeated
		{"[a.]x", false, `^[a\.]x$`}, // punctuation in brackets is literal
		{"[d]", false, `^[d]$`},      // a letter is not an escape class
		{"Dockerfile*", false, `^Dockerfile[^/]*$`},
		{"é+", false, `^é+$`},
	}
	for _, tt := range tests {
		p, err := Compile(tt.raw)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.raw, err)
		}
		if p.Negated != tt.negated || p.Regex != tt.regex {
			t.Errorf("Compile(%q) = negated %v, %q; want %v, %q", tt.raw, p.Negated, p.Regex, tt.negated, tt.regex)
		}
	}
	for _, bad := range []string{"[abc", `a\`, "x[]"} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%q) succeeded, want an error", bad)
		}
	}
}

func TestNoPatternMatches(t *testing.T) {
	p, _ := Compile("!docs/**")
	if Match([]*Pattern{p}, "docs/a.md") || Match([]*Pattern{p}, "src/a.go") {
		t.Error("a lone negation includes something")
	}
	if Match(nil, "a") {
		t.Error("no patterns include something")
	}
}

// FuzzCompile: any pattern is either refused or becomes a regular
// expression Go compiles; matching never panics.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"**/README.md", "!docs/**", "*.jsx?", "v[12].[0-9]+", `\*`, "[", "a[]b", "é+?", "**/"} {
		f.Add(s, "docs/README.md")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		if _, err := regexp.Compile(p.Regex); err != nil {
			t.Fatalf("Compile(%q) gave %q, which does not compile: %v", pattern, p.Regex, err)
		}
		_ = Match([]*Pattern{p}, name)
	})
}
