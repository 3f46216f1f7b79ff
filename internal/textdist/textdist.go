// Package textdist says how far apart two words are, for the "did you
// mean" of an error: a region, an input, a key typed a letter off.
package textdist

import "strings"

// Distance is the Levenshtein distance of a and b, in bytes: the fewest
// insertions, deletions and substitutions that make one the other.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Nearest is the word of known a mistyped one most likely meant: the same
// with hyphens for underscores or spaces, or in another case, else one at
// most two edits away (the first in order on a tie); "" when none is.
func Nearest(word string, known []string) string {
	norm := strings.ToLower(strings.NewReplacer("_", "-", " ", "-").Replace(word))
	best, bestD := "", 3
	for _, k := range known {
		if k == norm {
			return k
		}
		if d := Distance(norm, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	return best
}
