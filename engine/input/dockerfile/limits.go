package dockerfile

import (
	"fmt"

	"github.com/devflow/dwf-policy/engine/document"
)

// Limits on the size of a Dockerfile's document. Every instruction, word,
// stage, chain entry, ENV entry and RUN command becomes values in the
// document, and the engine copies each value into OPA's representation
// (about 100 to 200 bytes each, several kilobytes per instruction), so the
// document must stay proportional to what a person could write, not to what
// 4 MiB of generated text can multiply into. Real Dockerfiles have a few
// hundred instructions, a few dozen stages and a few thousand words; each
// limit is far above that and keeps the worst 4 MiB file within about
// 300 MB end to end. A limit that is hit makes the file a ParseError
// (DWF000) at the line where it is crossed, naming the limit.
const (
	// maxWords caps the words of the file (runs of text between blanks or
	// the separators , ; & | ( ) < >), counted before BuildKit parses it:
	// BuildKit makes a node of about 200 bytes for most words of an
	// instruction, so 4 MiB of `EXPOSE 1 1 1 ...` would take 320 MB before
	// the file is even read.
	maxWords = 100_000
	// maxInstructions caps the instructions of one Dockerfile. Each costs
	// 5 to 10 KB through the document and the engine: 20,000 one-line RUNs
	// already peak at 220 MB.
	maxInstructions = 10_000
	// maxStages caps the build stages (FROM instructions); a stage's
	// document is several times an instruction's.
	maxStages = 5_000
	// maxChainEntries caps the entries of every stage's `chain` (the stages
	// it builds on, itself included) added up. A stage's chain is its
	// parent's plus one, so N chained stages hold N(N+1)/2 entries: a
	// 400-stage linear chain fits, as do thousands of independent stages;
	// 20,000 chained stages (200 million entries) do not.
	maxChainEntries = 100_000
	// maxEnvEntries caps the ENV variables of every stage's `env` added up:
	// a stage holds what it inherits, so one large ENV shared by thousands
	// of `FROM base` stages would multiply.
	maxEnvEntries = 100_000
	// maxCommands caps the simple commands read from all RUN scripts
	// (`runs[].commands`, `sh -c` scripts included), and maxCommandWords
	// their words. Rules look at every command, so each costs about 2.5 KB
	// end to end (9,000 RUNs of 10 commands peaked at 270 MB), and a
	// variable run by `sh -c "$SCRIPT"` makes many commands from few bytes.
	maxCommands     = 20_000
	maxCommandWords = 100_000
)

// limitErrorAt is the ParseError for a limit crossed at loc.
func (b *builder) limitErrorAt(loc document.Location, format string, args ...any) error {
	return &document.ParseError{Path: b.path, Location: loc, Message: fmt.Sprintf(format, args...)}
}

// chargeChain counts a new stage's chain of n entries; false when the
// document would pass maxChainEntries (the failure is kept in b.exp.err).
func (b *builder) chargeChain(n int) bool {
	b.chainEntries += n
	if b.chainEntries > maxChainEntries {
		b.exp.fail("FROM chains are too large: the stages' chains (each stage and the stages it builds on) add up to more than %d entries, the limit for one Dockerfile", maxChainEntries)
		return false
	}
	return true
}

// chargeEnv counts n ENV entries a stage holds (inherited or set).
func (b *builder) chargeEnv(n int) {
	b.envEntries += n
	if b.envEntries > maxEnvEntries {
		b.exp.fail("stages hold too much ENV: the ENV variables of all stages (inherited ones counted in every stage) add up to more than %d, the limit for one Dockerfile", maxEnvEntries)
	}
}

// chargeCommands counts a RUN's commands and their words.
func (b *builder) chargeCommands(commands, words int) bool {
	b.commands += commands
	if b.commands > maxCommands {
		b.exp.fail("RUN scripts are too large: they run more than %d commands, the limit for one Dockerfile", maxCommands)
		return false
	}
	b.commandWords += words
	if b.commandWords > maxCommandWords {
		b.exp.fail("RUN scripts are too large: their commands add up to more than %d words, the limit for one Dockerfile", maxCommandWords)
		return false
	}
	return true
}

// isWordSeparator reports whether c ends a word for maxWords: blanks, and
// the shell's and JSON's separators, which split `a;a;a` or `["a","a"]`.
func isWordSeparator(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', ',', ';', '&', '|', '(', ')', '<', '>':
		return true
	}
	return false
}

// tooManyWords returns the 1-based line on which src's word count passes
// maxWords, or 0.
func tooManyWords(src []byte) int {
	words, line, in := 0, 1, false
	for _, c := range src {
		if c == '\n' {
			line++
		}
		if isWordSeparator(c) {
			in = false
			continue
		}
		if !in {
			in = true
			words++
			if words > maxWords {
				return line
			}
		}
	}
	return 0
}
