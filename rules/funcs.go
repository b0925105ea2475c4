package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr"
)

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// functions are the helpers rule expressions may call besides expr-lang's builtins.
func functions() []expr.Option {
	return []expr.Option{
		// today() is the current UTC date as YYYY-MM-DD, the form Airtable dates use.
		expr.Function("today", func(params ...any) (any, error) {
			return time.Now().UTC().Format("2006-01-02"), nil
		}, new(func() string)),
		// slug("Beginner Guide!") is "beginner-guide".
		expr.Function("slug", func(params ...any) (any, error) {
			s := strings.ToLower(fmt.Sprint(params[0]))
			return strings.Trim(nonSlug.ReplaceAllString(s, "-"), "-"), nil
		}, new(func(string) string)),
		// hash(x) is a short stable hex digest, useful for ids derived from content.
		expr.Function("hash", func(params ...any) (any, error) {
			h := sha256.Sum256([]byte(fmt.Sprint(params[0])))
			return hex.EncodeToString(h[:8]), nil
		}, new(func(any) string)),
		// coalesce(a, b, ...) is the first argument that is neither nil nor "".
		expr.Function("coalesce", func(params ...any) (any, error) {
			for _, p := range params {
				if p != nil && p != "" {
					return p, nil
				}
			}
			return nil, nil
		}),
	}
}
