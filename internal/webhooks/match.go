package webhooks

// MatchType reports whether an event type matches a pattern in which * stands for any run
// of characters (including dots and nothing).
func MatchType(pattern, typ string) bool {
	p, s := 0, 0
	star, mark := -1, 0
	for s < len(typ) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, s
			p++
		case p < len(pattern) && pattern[p] == typ[s]:
			p++
			s++
		case star >= 0:
			p = star + 1
			mark++
			s = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchesAny reports whether typ matches one of patterns.
func matchesAny(patterns []string, typ string) bool {
	for _, p := range patterns {
		if MatchType(p, typ) {
			return true
		}
	}
	return false
}
