package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Field is a field of an sObject, as describe shows it.
type Field struct {
	Name string
	// Type is one of id, string, textarea, email, phone, url, picklist, reference, boolean,
	// double, currency, percent, int, date, datetime.
	Type   string
	Length int
	// Required fields must be given on insert and cannot be cleared.
	Required bool
	// ReadOnly fields are set by Salesforce.
	ReadOnly bool
	// ExternalID fields may be used for upserts; Unique ones reject duplicates.
	ExternalID, Unique bool
	// Values are the picklist values; Restricted picklists refuse others.
	Values     []string
	Restricted bool
	// Default is set on insert when the field is not given.
	Default any
}

// ValidationRule is a custom validation rule: Check returns a message when the record
// (after the write) breaks it.
type ValidationRule struct {
	Object string
	Field  string
	Check  func(rec map[string]any) string
}

type object struct {
	name   string
	prefix string
	fields map[string]*Field
	order  []string
}

func (o *object) add(fs ...*Field) {
	for _, f := range fs {
		if _, dup := o.fields[strings.ToLower(f.Name)]; !dup {
			o.order = append(o.order, f.Name)
		}
		o.fields[strings.ToLower(f.Name)] = f
	}
}

// field finds a field by name, case-insensitively as Salesforce does.
func (o *object) field(name string) *Field { return o.fields[strings.ToLower(name)] }

func str(name string, n int) *Field { return &Field{Name: name, Type: "string", Length: n} }
func typed(name, typ string) *Field { return &Field{Name: name, Type: typ} }
func pick(name string, v ...string) *Field {
	return &Field{Name: name, Type: "picklist", Length: 255, Values: v}
}

var leadSources = []string{"Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", "AquaScene Newsletter"}

// defaultObjects returns Account, Contact and Lead with their standard fields and the
// AquaScene org's custom fields.
func defaultObjects() map[string]*object {
	system := func() []*Field {
		return []*Field{
			{Name: "Id", Type: "id", ReadOnly: true}, {Name: "IsDeleted", Type: "boolean", ReadOnly: true},
			{Name: "CreatedDate", Type: "datetime", ReadOnly: true}, {Name: "LastModifiedDate", Type: "datetime", ReadOnly: true},
			{Name: "SystemModstamp", Type: "datetime", ReadOnly: true}, {Name: "CreatedById", Type: "reference", ReadOnly: true},
			{Name: "LastModifiedById", Type: "reference", ReadOnly: true}, {Name: "OwnerId", Type: "reference"},
		}
	}
	mk := func(name, prefix string) *object {
		o := &object{name: name, prefix: prefix, fields: map[string]*Field{}}
		o.add(system()...)
		return o
	}
	account := mk("Account", "001")
	account.add(&Field{Name: "Name", Type: "string", Length: 255, Required: true}, pick("Industry", "Retail", "Agriculture", "Media", "Other"),
		pick("Type", "Customer", "Partner", "Prospect", "Other"), typed("Website", "url"), typed("Phone", "phone"),
		str("BillingCity", 40), str("BillingCountry", 80), typed("NumberOfEmployees", "int"), typed("AnnualRevenue", "currency"),
		&Field{Name: "Description", Type: "textarea", Length: 32000})
	custom := func() []*Field {
		return []*Field{
			{Name: "Email__c", Type: "email", Length: 80, ExternalID: true, Unique: true},
			{Name: "AquaScene_Id__c", Type: "string", Length: 36, ExternalID: true},
			{Name: "AquaScaping_Interest_Level__c", Type: "picklist", Length: 255, Values: []string{"beginner", "intermediate", "advanced", "expert"}, Restricted: true},
		}
	}
	contact := mk("Contact", "003")
	contact.add(str("FirstName", 40), &Field{Name: "LastName", Type: "string", Length: 80, Required: true},
		&Field{Name: "Name", Type: "string", Length: 121, ReadOnly: true}, &Field{Name: "Email", Type: "email", Length: 80},
		typed("Phone", "phone"), typed("MobilePhone", "phone"), str("Title", 128), typed("AccountId", "reference"),
		pick("LeadSource", leadSources...), str("MailingCity", 40), str("MailingCountry", 80),
		&Field{Name: "Description", Type: "textarea", Length: 32000}, typed("HasOptedOutOfEmail", "boolean"), typed("Birthdate", "date"))
	contact.add(custom()...)
	contact.add(&Field{Name: "Content_Preferences__c", Type: "textarea", Length: 32768}, typed("Subscription_Date__c", "datetime"),
		&Field{Name: "Purchase_History__c", Type: "textarea", Length: 131072}, typed("Interaction_Score__c", "double"),
		pick("Preferred_Content_Type__c", "newsletter_article", "instagram_caption", "product_review", "partner_product_guide"),
		typed("Last_Engagement_Date__c", "datetime"))
	lead := mk("Lead", "00Q")
	lead.add(str("FirstName", 40), &Field{Name: "LastName", Type: "string", Length: 80, Required: true},
		&Field{Name: "Name", Type: "string", Length: 121, ReadOnly: true}, &Field{Name: "Company", Type: "string", Length: 255, Required: true},
		&Field{Name: "Email", Type: "email", Length: 80}, typed("Phone", "phone"), pick("LeadSource", leadSources...),
		&Field{Name: "Status", Type: "picklist", Length: 255, Values: []string{"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"}, Restricted: true, Default: "Open - Not Contacted"},
		pick("Industry", "Retail", "Agriculture", "Media", "Other"), &Field{Name: "Description", Type: "textarea", Length: 32000})
	lead.add(custom()...)
	return map[string]*object{"account": account, "contact": contact, "lead": lead}
}

// DefaultValidationRules returns the AquaScene org's validation rule: an interaction score
// is a percentage.
func DefaultValidationRules() []ValidationRule {
	return []ValidationRule{{Object: "Contact", Field: "Interaction_Score__c", Check: func(rec map[string]any) string {
		if v, ok := rec["Interaction_Score__c"].(float64); ok && (v < 0 || v > 100) {
			return "Interaction score must be between 0 and 100."
		}
		return ""
	}}}
}

// apiError is one entry of Salesforce's error array. sObject Collections name the code
// statusCode; every other resource names it errorCode.
type apiError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode,omitempty"`
	StatusCode string   `json:"statusCode,omitempty"`
	Fields     []string `json:"fields,omitempty"`
}

func fieldErr(code, msg string, fields ...string) *apiError {
	if fields == nil {
		fields = []string{}
	}
	return &apiError{ErrorCode: code, Message: msg, Fields: fields}
}

const sfTime = "2006-01-02T15:04:05.000-0700"

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

// parseDateTime reads what Salesforce accepts for a datetime: ISO 8601 with a zone.
func parseDateTime(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, sfTime, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.000Z07:00"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// coerce checks one JSON value against a field and returns it as stored: strings, float64,
// bool, or nil. Errors carry Salesforce's code and the field.
func coerce(obj *object, f *Field, raw json.RawMessage) (any, *apiError) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: "Unexpected character: was expecting a value"}
	}
	if v == nil {
		return nil, nil
	}
	deser := func(kind string) *apiError {
		return &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: fmt.Sprintf(
			"Cannot deserialize instance of %s from %s value %v or request may be missing a required field at [line:1, column:1]", kind, jsonKind(v), v)}
	}
	label := f.Name
	switch f.Type {
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return nil, deser("boolean")
		}
		return b, nil
	case "double", "currency", "percent", "int":
		n, ok := v.(float64)
		if !ok {
			if s, isStr := v.(string); isStr {
				var parsed float64
				if _, err := fmt.Sscan(s, &parsed); err == nil && !math.IsNaN(parsed) {
					return parsed, nil // Salesforce reads numbers sent as numeric strings
				}
			}
			return nil, deser("double")
		}
		if f.Type == "int" && n != math.Trunc(n) {
			return nil, fieldErr("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("%s: value not of required type: %v", label, n), f.Name)
		}
		return n, nil
	}
	s, ok := v.(string)
	if !ok {
		switch v.(type) {
		case float64, bool:
			if f.Type == "date" || f.Type == "datetime" {
				return nil, deser(f.Type)
			}
			s = strings.TrimSpace(string(raw)) // Salesforce turns a JSON number or boolean into text
		default:
			return nil, deser("string")
		}
	}
	switch f.Type {
	case "date":
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, deser("date")
		}
	case "datetime":
		t, ok := parseDateTime(s)
		if !ok {
			return nil, deser("datetime")
		}
		s = stamp(t)
	case "email":
		if s != "" {
			if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
				return nil, fieldErr("INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", label, s), f.Name)
			}
		}
	case "picklist":
		if f.Restricted && s != "" && !slices.Contains(f.Values, s) {
			return nil, fieldErr("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %s", label, s), f.Name)
		}
	case "reference", "id":
		if s != "" && len(s) != 15 && len(s) != 18 {
			return nil, fieldErr("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", label, s), f.Name)
		}
	}
	if f.Length > 0 && len([]rune(s)) > f.Length {
		return nil, fieldErr("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", label, trim(s, 40), f.Length), f.Name)
	}
	if s == "" {
		return nil, nil // Salesforce stores an empty string as null
	}
	return s, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "VALUE_STRING"
	case float64:
		return "VALUE_NUMBER_FLOAT"
	case bool:
		return "VALUE_TRUE"
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	}
	return "VALUE_NULL"
}

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

// idChecksum is the three-character suffix that makes a 15-character Salesforce id
// case-insensitively unique.
func idChecksum(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for chunk := range 3 {
		n := 0
		for i := range 5 {
			if c := id15[chunk*5+i]; c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		out[chunk] = alphabet[n]
	}
	return string(out[:])
}

// normalizeID returns the 18-character form of a 15- or 18-character id, or "".
func normalizeID(id string) string {
	switch len(id) {
	case 15:
		return id + idChecksum(id)
	case 18:
		if strings.EqualFold(id[15:], idChecksum(id[:15])) {
			return id[:15] + idChecksum(id[:15])
		}
	}
	return ""
}
