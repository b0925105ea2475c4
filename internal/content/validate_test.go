package content

import (
	"strings"
	"testing"
)

func TestFindPII(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		types []string // expected finding types, in order of detection
	}{
		{"clean text", "Trim stems every two weeks and dose 2.5 ml of fertiliser.", nil},
		{"email", "Write to jane.doe+tanks@example.co.uk for a reply.", []string{"email"}},
		{"email-like handle is not an email", "Follow @greenaqua and @aquascene on Instagram.", nil},
		{"US phone with dashes", "Call 555-867-5309 today.", []string{"phone"}},
		{"US phone with parentheses", "Call (555) 867-5309 today.", []string{"phone"}},
		{"international phone", "Ring +359 88 123 4567 after six.", []string{"phone"}},
		{"ten bare digits are a SKU, not a phone", "Order number 5558675309 shipped.", nil},
		{"ssn", "My SSN is 123-45-6789.", []string{"ssn"}},
		{"ssn with area 000 is never issued", "Reference 000-12-3456 on the form.", nil},
		{"ssn with area 9xx is never issued", "Ticket 912-34-5678 closed.", nil},
		{"visa test card with spaces", "Card 4111 1111 1111 1111 expires soon.", []string{"card"}},
		{"mastercard without separators", "Pay with 5555555555554444 now.", []string{"card"}},
		{"amex 15 digits", "Amex 378282246310005 on file.", []string{"card"}},
		{"16 digits failing Luhn are not a card", "Serial 4111 1111 1111 1112 printed.", nil},
		{"16 digits failing Luhn without separators", "Batch 1234567812345678 arrived.", nil},
		{"mixed separators are not a card", "Code 4111-1111 1111-1111 here.", nil},
		{"card inside a longer number is ignored", "ID 41111111111111110000000 end.", nil},
		{"Luhn-valid digits inside a content id are not a card", "Shop at https://greenaqua.hu/p?utm_content=gen-01a23633-8564-7128-b5e1-4e87138db78d today.", nil},
		{"digits glued to letters are an identifier", "Part GA2363385647128 and 2363385647128x ship.", nil},
		{"a card after a colon is still a card", "card:4111111111111111, thanks", []string{"card"}},
		{"a phone ending a sentence without a space is still a phone", "Call 555-867-5309.Then wait.", []string{"phone"}},
		{"date range and sizes", "From 2025-08-06 to 2025-09-01, tanks of 60-90 litres, 1200-1500 words.", nil},
		{"several", "Mail a@b.io or call 555-867-5309.", []string{"email", "phone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := FindPII(tc.text)
			var got []string
			for _, f := range fs {
				got = append(got, f.Type)
				if f.Severity != SeverityError || f.Kind != FindingPII {
					t.Errorf("finding %+v", f)
				}
				if strings.Contains(tc.text, f.Match) && f.Type != "email" {
					t.Errorf("match %q is not redacted", f.Match)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.types, ",") {
				t.Errorf("types = %v, want %v (%+v)", got, tc.types, fs)
			}
		})
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		digits string
		want   bool
	}{
		{"4111111111111111", true}, {"4111111111111112", false}, {"79927398713", true},
		{"0", true}, {"", false}, {"12a4", false},
	}
	for _, tc := range tests {
		t.Run(tc.digits, func(t *testing.T) {
			if got := Luhn(tc.digits); got != tc.want {
				t.Errorf("Luhn(%q) = %v", tc.digits, got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	article, _ := BuiltinTemplate("newsletter_article")
	caption, _ := BuiltinTemplate("instagram_caption")
	manyTags := make([]string, 31)
	for i := range manyTags {
		manyTags[i] = "tag" + strings.Repeat("x", i)
	}
	tests := []struct {
		name  string
		draft Draft
		in    ValidationInput
		kinds []string
	}{
		{"clean article", Draft{BodyMarkdown: "Stay safe with heaters."}, ValidationInput{Template: &article}, nil},
		{"prohibited phrase, any case", Draft{BodyMarkdown: "This is a Miracle Cure for algae. Be safe."},
			ValidationInput{Template: &article, Prohibited: []string{"miracle cure"}}, []string{FindingProhibited}},
		{"prohibited phrase inside a word does not count", Draft{BodyMarkdown: "Guaranteedly safe."},
			ValidationInput{Template: &article, Prohibited: []string{"guaranteed"}}, nil},
		{"affiliate link missing", Draft{BodyMarkdown: "Buy it at Green Aqua. Safe."},
			ValidationInput{Template: &article, AffiliateLink: "https://greenaqua.hu/x?ref=1"}, []string{FindingAffiliateLink}},
		{"affiliate link present", Draft{BodyMarkdown: "[Shop](https://greenaqua.hu/x?ref=1) safely."},
			ValidationInput{Template: &article, AffiliateLink: "https://greenaqua.hu/x?ref=1"}, nil},
		{"no safety tips is a warning", Draft{BodyMarkdown: "Just plants."}, ValidationInput{Template: &article}, []string{FindingSafetyTips}},
		{"caption over 2200 characters", Draft{BodyMarkdown: strings.Repeat("a", 2190), Hashtags: []string{"aquascaping", "plants"}},
			ValidationInput{Template: &caption}, []string{FindingPlatformLimit}},
		{"caption with 31 hashtags", Draft{BodyMarkdown: "Nice tank.", Hashtags: manyTags[:31]},
			ValidationInput{Template: &caption}, []string{FindingPlatformLimit}},
		{"caption with 30 hashtags", Draft{BodyMarkdown: "Nice tank.", Hashtags: manyTags[:30]},
			ValidationInput{Template: &caption}, nil},
		{"pii in the title", Draft{Title: "Ask jane@example.com", BodyMarkdown: "Safe."}, ValidationInput{Template: &article}, []string{FindingPII}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := Validate(&tc.draft, tc.in)
			var got []string
			for _, f := range fs {
				got = append(got, f.Kind)
			}
			if strings.Join(got, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds = %v, want %v (%+v)", got, tc.kinds, fs)
			}
		})
	}
}

func FuzzFindPII(f *testing.F) {
	for _, s := range []string{"555-867-5309", "4111 1111 1111 1111", "a@b.io", "123-45-6789", "+359 88 123 4567", "9-9-9-9-9-9-9-9-9-9-9-9-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fd := range FindPII(s) {
			if fd.Offset < 0 || fd.Offset >= len(s) {
				t.Fatalf("offset %d out of range for %q", fd.Offset, s)
			}
		}
	})
}
