//go:build !wasip1

package main

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// unquote is an independent reading of a SOQL string literal (Salesforce's escape
// sequences): it returns the value and the rest of the input after the closing quote.
func unquote(s string) (string, string, bool) {
	if !strings.HasPrefix(s, "'") {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			return b.String(), s[i+1:], true
		case '\\':
			i++
			if i >= len(s) {
				return "", "", false
			}
			m := map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f', '\'': '\'', '"': '"', '\\': '\\'}
			r, ok := m[s[i]]
			if !ok {
				return "", "", false
			}
			b.WriteByte(r)
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

func TestQuoteIsOneLiteral(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "ana@example.com", `'ana@example.com'`},
		{"quote", "it's", `'it\'s'`},
		{"closing quote and clause", `x' OR Email != null OR Email = 'y`, `'x\' OR Email != null OR Email = \'y'`},
		{"backslash before quote", `x\' OR Id != null --`, `'x\\\' OR Id != null --'`},
		{"double quote", `say "hi"`, `'say \"hi\"'`},
		{"newline", "a\nb", `'a\nb'`},
		{"unicode", "Тропица ’", `'Тропица ’'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := quote(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("quote = %s, %v; want %s", got, err, tt.want)
			}
			v, rest, ok := unquote(got)
			if !ok || v != tt.in || rest != "" {
				t.Fatalf("reads back as %q + %q (%v)", v, rest, ok)
			}
		})
	}
	if _, err := quote("a\x00b"); err == nil {
		t.Fatal("a NUL byte was quoted")
	}
}

// FuzzQuote: whatever the string, its literal is exactly one SOQL string token holding it.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "'", `\'`, `\\'`, "' OR '1'='1", "%_", "\n\r\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		q, err := quote(s)
		if err != nil {
			return // control characters are refused, never passed through
		}
		v, rest, ok := unquote(q)
		if !ok || v != s || rest != "" {
			t.Fatalf("quote(%q) = %s reads back as %q + %q", s, q, v, rest)
		}
	})
}

func TestBuildQuery(t *testing.T) {
	base := func(where ...Condition) QueryIn {
		return QueryIn{Object: "Contact", Fields: []string{"Id", "Email"}, Where: where}
	}
	tests := []struct {
		name string
		in   QueryIn
		want string
	}{
		{"no where", QueryIn{Object: "Contact", Fields: []string{"Id", "Account.Name"}, Limit: 10, Offset: 5},
			"SELECT Id, Account.Name FROM Contact LIMIT 10 OFFSET 5"},
		{"string", base(Condition{Field: "Email", Op: "=", Value: "ana@example.com"}), "SELECT Id, Email FROM Contact WHERE Email = 'ana@example.com'"},
		{"number and bool", base(Condition{Field: "Interaction_Score__c", Op: ">=", Value: 87.5}, Condition{Field: "HasOptedOutOfEmail", Op: "=", Value: false}),
			"SELECT Id, Email FROM Contact WHERE Interaction_Score__c >= 87.5 AND HasOptedOutOfEmail = false"},
		{"number from a string", base(Condition{Field: "Interaction_Score__c", Op: "<", Value: "50", Type: "number"}), "SELECT Id, Email FROM Contact WHERE Interaction_Score__c < 50"},
		{"dates", base(Condition{Field: "Birthdate", Op: "<", Value: "2000-01-01", Type: "date"}, Condition{Field: "CreatedDate", Op: ">", Value: "2025-08-06T12:00:00+02:00", Type: "datetime"},
			Condition{Field: "LastModifiedDate", Op: "=", Value: "LAST_N_DAYS:30", Type: "date_literal"}),
			"SELECT Id, Email FROM Contact WHERE Birthdate < 2000-01-01 AND CreatedDate > 2025-08-06T10:00:00Z AND LastModifiedDate = LAST_N_DAYS:30"},
		{"in and null", base(Condition{Field: "LeadSource", Op: "in", Value: []any{"Web", "Other"}}, Condition{Field: "Email__c", Op: "not_null"}),
			"SELECT Id, Email FROM Contact WHERE LeadSource IN ('Web', 'Other') AND Email__c != null"},
		{"contains escapes wildcards", base(Condition{Field: "Email", Op: "contains", Value: "100%_sure"}), `SELECT Id, Email FROM Contact WHERE Email LIKE '%100\%\_sure%'`},
		{"like keeps wildcards", base(Condition{Field: "Email", Op: "like", Value: "%@example.com"}), "SELECT Id, Email FROM Contact WHERE Email LIKE '%@example.com'"},
		{"any and order", QueryIn{Object: "Lead", Fields: []string{"Id"}, Match: "any", Where: []Condition{{Field: "Status", Op: "=", Value: "Open - Not Contacted"}, {Field: "Company", Op: "starts_with", Value: "Reef"}},
			OrderBy: []OrderBy{{Field: "CreatedDate", Direction: "desc", Nulls: "last"}, {Field: "Id"}}},
			"SELECT Id FROM Lead WHERE Status = 'Open - Not Contacted' OR Company LIKE 'Reef%' ORDER BY CreatedDate DESC NULLS LAST, Id ASC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildQuery(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("= %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}

// Every value a rule could pass is either one literal or refused; names never come from
// values. Each attempt below tries to add a condition or end the query.
func TestBuildQueryRefusesInjection(t *testing.T) {
	tests := []struct {
		name      string
		in        QueryIn
		wantField string
	}{
		{"field list", QueryIn{Object: "Contact", Fields: []string{"Id FROM Contact WHERE Email != null"}}, "fields[0]"},
		{"where field", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "Email = 'x' OR Email", Op: "!=", Value: "y"}}}, "where[0].field"},
		{"order field", QueryIn{Object: "Contact", Fields: []string{"Id"}, OrderBy: []OrderBy{{Field: "Id LIMIT 1"}}}, "order_by[0].field"},
		{"object", QueryIn{Object: "Contact WHERE Id != null", Fields: []string{"Id"}}, "object"},
		{"date", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "Birthdate", Op: "=", Value: "2000-01-01 OR Id != null", Type: "date"}}}, "where[0].value"},
		{"datetime", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "CreatedDate", Op: "=", Value: "2025-01-01T00:00:00Z OR Id != null", Type: "datetime"}}}, "where[0].value"},
		{"date literal", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "CreatedDate", Op: "=", Value: "TODAY OR Id != null", Type: "date_literal"}}}, "where[0].value"},
		{"number", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "Interaction_Score__c", Op: ">", Value: "0 OR Id != null", Type: "number"}}}, "where[0].value"},
		{"boolean", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "HasOptedOutOfEmail", Op: "=", Value: "false OR Id != null", Type: "boolean"}}}, "where[0].value"},
		{"object value", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "Email", Op: "=", Value: map[string]any{"raw": "x"}}}}, "where[0].value"},
		{"list member", QueryIn{Object: "Contact", Fields: []string{"Id"}, Where: []Condition{{Field: "Email", Op: "in", Value: []any{"a", []any{"b"}}}}}, "where[0].value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := buildQuery(tt.in)
			var fe *fieldError
			if !errors.As(err, &fe) || fe.field != tt.wantField {
				t.Fatalf("= %q, %v; want an error on %s", q, err, tt.wantField)
			}
		})
	}
}

func TestExpandNamed(t *testing.T) {
	const template = "SELECT Id FROM Contact WHERE Email = :email AND Note__c != ':email' AND CreatedDate = LAST_N_DAYS:30 AND LeadSource IN :sources AND CreatedDate > :since"
	got, err := expandNamed(template, map[string]any{
		"email": "x' OR Id != null OR Email = 'y", "sources": []any{"Web", "Other"}, "since": map[string]any{"datetime": "2025-08-01T00:00:00Z"},
	})
	want := `SELECT Id FROM Contact WHERE Email = 'x\' OR Id != null OR Email = \'y' AND Note__c != ':email' AND CreatedDate = LAST_N_DAYS:30 AND LeadSource IN ('Web', 'Other') AND CreatedDate > 2025-08-01T00:00:00Z`
	if err != nil || got != want {
		t.Fatalf("= %q, %v\nwant %q", got, err, want)
	}
	tests := []struct {
		name      string
		binds     map[string]any
		wantField string
	}{
		{"missing bind", map[string]any{"sources": []any{"Web"}, "since": map[string]any{"date": "2025-01-01"}}, "binds.email"},
		{"unused bind", map[string]any{"email": "a", "sources": []any{"Web"}, "since": map[string]any{"date": "2025-01-01"}, "extra": 1}, "binds.extra"},
		{"typed injection", map[string]any{"email": "a", "sources": []any{"Web"}, "since": map[string]any{"date": "2025-01-01 OR Id != null"}}, "binds.since"},
		{"unknown type", map[string]any{"email": "a", "sources": []any{"Web"}, "since": map[string]any{"soql": "Id != null"}}, "binds.since"},
		{"empty list", map[string]any{"email": "a", "sources": []any{}, "since": map[string]any{"date": "2025-01-01"}}, "binds.sources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := expandNamed(template, tt.binds)
			var fe *fieldError
			if !errors.As(err, &fe) || fe.field != tt.wantField {
				t.Fatalf("error %v, want one on %s", err, tt.wantField)
			}
		})
	}
}
