package abi

import (
	"errors"
	"fmt"
	"regexp/syntax"
)

// Limits bounds what a manifest may ask of the host: how much work loading it takes
// (compiling its patterns, decoding its schemas) and how much one input's validation may
// cost. The host refuses a manifest beyond them at load, so that a connector cannot make
// the host spend more than these on its behalf. A zero field is no bound.
type Limits struct {
	// MaxActions bounds the actions of one manifest (each has its own call metrics).
	MaxActions int
	// MaxSchemaDepth bounds how deeply schemas nest (properties, items and
	// additionalProperties each add a level).
	MaxSchemaDepth int
	// MaxEnumValues bounds the values of one enum.
	MaxEnumValues int
	// MaxPatternBytes bounds the text of one pattern.
	MaxPatternBytes int
	// MaxPatternProgram bounds the compiled size of one pattern in instructions (a counted
	// repetition such as x{1,1000} repeats x's instructions a thousand times). The patterns
	// of one manifest together may use sixteen times as many.
	MaxPatternProgram int
}

// MaxVersionBytes bounds a manifest's version ("1.4.2", "2026-01-15+build.7").
const MaxVersionBytes = 64

// DefaultLimits returns the hub's default Limits: 256 actions, schemas 32 levels deep,
// 1000 enum values, patterns of 1 KiB compiling to at most 10000 instructions.
func DefaultLimits() Limits {
	return Limits{MaxActions: 256, MaxSchemaDepth: 32, MaxEnumValues: 1000, MaxPatternBytes: 1 << 10, MaxPatternProgram: 10000}
}

// maxJSONDepth is how deeply a manifest's JSON may nest under lim: two levels per schema
// level (the schema and its properties object) and room for the envelope and for enum and
// default values.
func (l Limits) maxJSONDepth() int {
	if l.MaxSchemaDepth <= 0 {
		return 0
	}
	return 2*l.MaxSchemaDepth + 16
}

// patternTotal is the compiled size all patterns of one manifest may use together.
func (l Limits) patternTotal() int { return 16 * l.MaxPatternProgram }

// Budget is the work validation may still do, in steps, shared by the Validate calls of one
// action call. A pattern match costs the pattern's compiled instructions times the string's
// length plus one (Go's regexp engine runs in time proportional to that product); any other
// check of a value costs one step, and an enum check one step per value compared. A
// validation that would overdraw the budget fails instead of running.
type Budget struct {
	// Steps is what remains.
	Steps int64
}

// spend takes n steps, reporting false (and taking nothing) when fewer remain.
func (b *Budget) spend(n int64) bool {
	if b == nil {
		return true
	}
	if n > b.Steps {
		b.Steps = 0
		return false
	}
	b.Steps -= n
	return true
}

// ErrBudget is wrapped by the ValidationError of a check the budget could not pay for.
var ErrBudget = errors.New("input too costly to validate")

// patternSize estimates the instructions pattern compiles to, from its parse tree and
// without expanding counted repetitions, so that an absurd pattern is refused before the
// compiler is asked to build it.
func patternSize(re *syntax.Regexp) int64 {
	const limit = 1 << 40 // saturate rather than overflow
	var size int64
	switch re.Op {
	case syntax.OpLiteral:
		size = int64(len(re.Rune))
	case syntax.OpConcat, syntax.OpAlternate:
		for _, sub := range re.Sub {
			size += patternSize(sub) + 1
		}
	case syntax.OpCapture:
		size = patternSize(re.Sub[0]) + 2
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		size = patternSize(re.Sub[0]) + 1
	case syntax.OpRepeat:
		n := int64(re.Max)
		if n < 0 {
			n = int64(re.Min) + 1
		}
		size = (patternSize(re.Sub[0]) + 1) * max(n, 1)
	default:
		size = 1
	}
	return min(size, limit)
}

// checkPattern parses pattern and checks it against lim, returning its estimated size.
func checkPattern(pattern string, lim Limits) (int64, error) {
	if lim.MaxPatternBytes > 0 && len(pattern) > lim.MaxPatternBytes {
		return 0, fmt.Errorf("pattern of %d bytes exceeds the limit of %d", len(pattern), lim.MaxPatternBytes)
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, err
	}
	size := patternSize(re)
	if lim.MaxPatternProgram > 0 && size > int64(lim.MaxPatternProgram) {
		return 0, fmt.Errorf("pattern compiles to about %d instructions, over the limit of %d", size, lim.MaxPatternProgram)
	}
	return size, nil
}

// jsonDepth returns how deeply b's arrays and objects nest, stopping at limit+1.
func jsonDepth(b []byte, limit int) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > limit {
					return deepest
				}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
