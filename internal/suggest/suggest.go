// Package suggest finds the known name a mistyped one most likely meant, for
// "did you mean" hints in errors about flags, commands, keys and names.
package suggest

import (
	"fmt"
	"math"
	"strings"
)

// Closest returns the candidate nearest to s, or "" when none is near
// enough to be a typo of it. trim is a common prefix ignored when judging
// how close two names are ("MLPVIZ_"). A dotted name written without its
// section ("width") finds its full path ("view.width").
func Closest(s string, candidates []string, trim string) string {
	s = strings.ToLower(s)
	short := strings.TrimPrefix(s, strings.ToLower(trim))
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		cs := strings.TrimPrefix(strings.ToLower(c), strings.ToLower(trim))
		dist := min(editDistance(short, cs), editDistance(leaf(short), leaf(cs))+1)
		if dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if bestDist == 0 || bestDist > 2 || bestDist*2 > len(short) {
		return ""
	}
	return best
}

// DidYouMean is ` (did you mean "X"?)` for Closest's answer, or "".
func DidYouMean(s string, candidates []string, trim string) string {
	if c := Closest(s, candidates, trim); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

func leaf(key string) string { return key[strings.LastIndexByte(key, '.')+1:] }

// editDistance counts the insertions, deletions, substitutions and swaps of
// neighbours that turn a into b (optimal string alignment).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
