package sim

import (
	"strings"
	"testing"
	"time"
)

func TestFormula(t *testing.T) {
	now := time.Date(2025, 8, 6, 15, 30, 0, 0, time.UTC)
	fields := map[string]any{
		"Status": "Scheduled", "Publish_Date": "2025-08-07", "Old_Date": "2025-08-01",
		"Score": 87.5, "Content_ID": "c-1", "Channels": []any{"newsletter", "instagram"},
		"Done": true, "Display Name": "CO2 basics",
	}
	tests := []struct {
		name    string
		formula string
		want    bool
	}{
		{"seed schedule formula", "AND({Status}='Scheduled', {Publish_Date}>=TODAY())", true},
		{"past date", "{Old_Date}>=TODAY()", false},
		{"date less than", "{Old_Date}<TODAY()", true},
		{"seed content id formula", "{Content_ID}='c-1'", true},
		{"double quotes", `{Content_ID}="c-1"`, true},
		{"not equal", "{Content_ID}!='c-1'", false},
		{"bare field name", "Status='Scheduled'", true},
		{"field with spaces", "{Display Name}='CO2 basics'", true},
		{"number comparison", "{Score}>80", true},
		{"number as text", "{Score}>'80'", true},
		{"arithmetic", "{Score}*2=175", true},
		{"OR", "OR({Status}='Draft', {Score}<50)", false},
		{"NOT", "NOT({Status}='Draft')", true},
		{"nested", "AND(OR({Status}='Draft',{Status}='Scheduled'),NOT({Score}<10))", true},
		{"blank field equals empty", "{Missing}=''", true},
		{"blank field BLANK()", "{Missing}=BLANK()", true},
		{"blank field is falsy", "{Missing}", false},
		{"blank against date", "{Missing}>=TODAY()", false},
		{"checkbox", "{Done}", true},
		{"checkbox compare", "{Done}=1", true},
		{"array as text", "{Channels}='newsletter, instagram'", true},
		{"concat", "{Status}&'!'='Scheduled!'", true},
		{"lower", "LOWER({Status})='scheduled'", true},
		{"len", "LEN({Content_ID})=3", true},
		{"if", "IF({Score}>50,'hi','lo')='hi'", true},
		{"record id", "RECORD_ID()='recX'", true},
		{"now after today", "NOW()>TODAY()", true},
		{"true literal", "TRUE()", true},
		{"false bare", "FALSE", false},
		{"case-insensitive function names", "and({Done}, not({Missing}))", true},
		{"unary minus", "-{Score}<0", true},
		{"empty string is falsy", "''", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := compileFormula(tt.formula, nil)
			if err != nil {
				t.Fatalf("compile %q: %v", tt.formula, err)
			}
			got := truthy(n(&formulaEnv{fields: fields, recordID: "recX", now: now}))
			if got != tt.want {
				t.Fatalf("%s = %v, want %v", tt.formula, got, tt.want)
			}
		})
	}
}

func TestFormulaErrors(t *testing.T) {
	known := func(s string) bool { return s == "Status" || s == "Title" }
	tests := []struct {
		name    string
		formula string
		want    string
	}{
		{"unknown function", "SEARCH('x',{Title})", "unknown function SEARCH"},
		{"unknown field", "{Nope}='x'", "unknown field names: nope"},
		{"unterminated string", "{Status}='x", "unterminated string"},
		{"unterminated field", "{Status='x'", "unterminated field reference"},
		{"missing paren", "AND({Status}='x'", "missing )"},
		{"trailing garbage", "{Status}='x' 'y'", "unexpected"},
		{"empty", "", "unexpected end"},
		{"bad character", "{Status}#1", "unexpected character"},
		{"arity", "NOT(1,2)", "wrong number of arguments"},
		{"too deep", strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileFormula(tt.formula, known)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compile %q: err = %v, want %q", tt.formula, err, tt.want)
			}
		})
	}
}

func FuzzFormula(f *testing.F) {
	for _, s := range []string{
		"AND({Status}='Scheduled', {Publish_Date}>=TODAY())", "{Content_ID}='x'", "OR(1,NOT(0))",
		"IF({A}>1,'a'&'b',-2/0)", "LOWER(UPPER(TRIM(' x ')))", "{", "'", "((((", "1..2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := compileFormula(src, nil)
		if err != nil {
			return
		}
		_ = truthy(n(&formulaEnv{fields: map[string]any{"A": 2.0, "Status": "x"}, now: time.Unix(0, 0)}))
	})
}
