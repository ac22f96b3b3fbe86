package report

import (
	"hash/fnv"
	"strconv"
	"unicode/utf16"
)

// GitHub code scanning tracks an alert across commits by its
// partialFingerprints.primaryLocationLineHash. When a SARIF file has none,
// github/codeql-action's upload computes it from the checked-out file (see
// src/fingerprints.ts there) and warns when a value we set differs, so we
// compute exactly the same thing:
//
//   - the file is read as UTF-8 (invalid bytes become U+FFFD the way the
//     WHATWG decoder that Node uses does it) and walked as UTF-16 code units;
//   - spaces and tabs are skipped, and CR and CRLF count as one LF;
//   - a rolling polynomial hash (multiplier 37, 64-bit wrapping arithmetic)
//     covers a window of 100 characters; the hash of a line is the hash of
//     the 100 characters starting at the line's first character, so it
//     changes only when that window changes, not when lines elsewhere move;
//   - the input ends with the marker 65535 followed by 100 zeros, so lines
//     near the end get a full window too;
//   - each line's value is hex(unsigned hash) + ":" + n, where n counts how
//     many lines so far (in file order) had the same hash.
const (
	hashBlockSize        = 100
	hashMod       uint64 = 37
	hashEOF              = 65535
)

// lineHash is one line's fingerprint before formatting.
type lineHash struct {
	hash  uint64
	count int // 1 for the first line with this hash, 2 for the next, ...
}

// String formats h as GitHub does: lowercase hex, a colon, the count.
func (h lineHash) String() string {
	return strconv.FormatUint(h.hash, 16) + ":" + strconv.Itoa(h.count)
}

// lineHashes returns the primaryLocationLineHash of every line of src: the
// element i is line i+1. Like the reference implementation, it numbers the
// text after a final newline as a line of its own, so an empty src has one
// line and the result is never empty.
func lineHashes(src []byte) []lineHash {
	h := newLineHasher()
	decodeUTF8(src, func(r rune) {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h.char(uint64(r1))
			h.char(uint64(r2))
			return
		}
		h.char(uint64(r))
	})
	h.char(hashEOF)
	for range hashBlockSize {
		if h.lineAt[h.index] != 0 {
			h.output()
		}
		h.update(0)
	}
	return h.out
}

// lineHasher holds the state of the rolling hash over one file.
type lineHasher struct {
	window   [hashBlockSize]uint64 // the last hashBlockSize characters
	lineAt   [hashBlockSize]int    // line number starting at that window slot, 0 if none
	index    int                   // next slot in window, wraps around
	hash     uint64
	firstMod uint64 // hashMod^hashBlockSize, to take the oldest character out

	line      int  // number of the current line
	lineStart bool // the next character starts a line
	prevCR    bool // the previous character was a CR

	counts map[uint64]int
	out    []lineHash
}

func newLineHasher() *lineHasher {
	h := &lineHasher{firstMod: 1, lineStart: true, counts: make(map[uint64]int)}
	for range hashBlockSize {
		h.firstMod *= hashMod
	}
	return h
}

// char feeds one UTF-16 code unit (or the EOF marker).
func (h *lineHasher) char(c uint64) {
	if c == ' ' || c == '\t' || (h.prevCR && c == '\n') {
		h.prevCR = false
		return
	}
	h.prevCR = c == '\r'
	if h.prevCR {
		c = '\n'
	}
	if h.lineAt[h.index] != 0 {
		// The window is full since that line started: its hash is ready.
		h.output()
	}
	if h.lineStart {
		h.lineStart = false
		h.line++
		h.lineAt[h.index] = h.line
	}
	if c == '\n' {
		h.lineStart = true
	}
	h.update(c)
}

func (h *lineHasher) update(c uint64) {
	oldest := h.window[h.index]
	h.window[h.index] = c
	h.hash = hashMod*h.hash + c - h.firstMod*oldest
	h.index = (h.index + 1) % hashBlockSize
}

// output records the hash of the line that started at the current slot.
// Lines complete in order, so out[i] is line i+1.
func (h *lineHasher) output() {
	h.counts[h.hash]++
	h.out = append(h.out, lineHash{hash: h.hash, count: h.counts[h.hash]})
	h.lineAt[h.index] = 0
}

// decodeUTF8 calls fn for each code point of src, replacing each maximal
// invalid subsequence with one U+FFFD as the WHATWG UTF-8 decoder does
// (Go's utf8.DecodeRune replaces byte by byte instead, which would give
// different hashes than GitHub's for files that are not valid UTF-8).
func decodeUTF8(src []byte, fn func(rune)) {
	const replacement = '\uFFFD'
	for i := 0; i < len(src); {
		b := src[i]
		var need int
		var cp rune
		lower, upper := byte(0x80), byte(0xBF)
		switch {
		case b < 0x80:
			fn(rune(b))
			i++
			continue
		case b >= 0xC2 && b <= 0xDF:
			need, cp = 1, rune(b&0x1F)
		case b >= 0xE0 && b <= 0xEF:
			if b == 0xE0 {
				lower = 0xA0
			} else if b == 0xED {
				upper = 0x9F
			}
			need, cp = 2, rune(b&0x0F)
		case b >= 0xF0 && b <= 0xF4:
			if b == 0xF0 {
				lower = 0x90
			} else if b == 0xF4 {
				upper = 0x8F
			}
			need, cp = 3, rune(b&0x07)
		default:
			fn(replacement)
			i++
			continue
		}
		i++
		for ; need > 0; need-- {
			if i >= len(src) || src[i] < lower || src[i] > upper {
				// Truncated sequence: one replacement, and the offending
				// byte is decoded afresh.
				break
			}
			cp = cp<<6 | rune(src[i]&0x3F)
			lower, upper = 0x80, 0xBF
			i++
		}
		if need > 0 {
			fn(replacement)
			continue
		}
		fn(cp)
	}
}

// stableHash is a fingerprint in the primaryLocationLineHash format (hex,
// a colon, a count) of a rule-given identity instead of a line.
func stableHash(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return strconv.FormatUint(h.Sum64(), 16) + ":1"
}
