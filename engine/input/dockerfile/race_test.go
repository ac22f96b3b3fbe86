//go:build race

package dockerfile

// raceEnabled: the race detector multiplies allocations, so absolute byte
// bounds in tests hold only without it.
const raceEnabled = true
