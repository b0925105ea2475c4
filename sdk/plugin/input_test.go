package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type fastItem struct {
	Email string           `json:"email"`
	Name  string           `json:"name,omitempty"`
	Extra map[string][]int `json:"extra"`
}

type fastName string

// fastIn uses every kind the fast decoder handles.
type fastIn struct {
	Method string            `json:"method,omitempty"`
	URL    string            `json:"url"`
	Query  map[string]string `json:"query,omitempty"`
	JSON   json.RawMessage   `json:"json,omitempty"`
	N      int               `json:"n"`
	I8     int8              `json:"i8"`
	U      uint16            `json:"u"`
	F      float64           `json:"f"`
	B      bool              `json:"b"`
	P      *string           `json:"p"`
	Any    any               `json:"any"`
	List   []fastItem        `json:"list"`
	Tags   []string          `json:"tags"`
	M      map[string]any    `json:"m"`
	Nested *fastItem         `json:"nested"`
	Named  fastName          `json:"named"`
	Keyed  map[fastName]bool `json:"keyed"`
	Raw    *json.RawMessage  `json:"raw"`
	NoTag  string
	Dash   string `json:"-"`
	//lint:ignore U1000 an unexported field the decoders must leave alone
	skipped string
}

// fastInputs are inputs the fast decoder takes, and inputs it must leave to encoding/json.
var fastInputs = []struct {
	name string
	in   string
	fast bool // whether the fast decoder must take it
}{
	{"pipeline step", `{"method":"POST","url":"/v3/mail/send","json":{"personalizations":[{"to":[{"email":"a@b.c"}]}],"subject":"<h1>"},"tags":["a"]}`, true},
	{"every kind", `{"method":"GET","url":"u","query":{"a":"1"},"json":[1, 2],"n":-5,"i8":127,"u":65535,"f":1.5e3,"b":true,"p":"x","any":{"k":[1,"2",null,true]},"list":[{"email":"e","extra":{"x":[1,2]}},null],"m":{"a":{}},"nested":{"email":"n"},"named":"nm","keyed":{"k":true},"raw":null,"NoTag":"t"}`, true},
	{"nulls", `{"method":null,"query":null,"json":null,"n":null,"p":null,"any":null,"list":null,"m":null,"nested":null,"raw":null}`, true},
	{"whitespace and escapes", " {\n \"url\" : \"\\u00e9\\ud83d\\ude00\\n\" , \"tags\" : [ \"\\\"\" ] } ", true},
	{"empty collections", `{"list":[],"tags":[],"query":{},"m":{}}`, true},
	{"repeated map keys", `{"query":{"a":"1","a":"2"}}`, true},
	{"unknown field", `{"url":"u","nope":1}`, false},
	{"folded key", `{"URL":"u"}`, false},
	{"repeated field", `{"url":"a","url":"b"}`, false},
	{"wrong type", `{"n":"1"}`, false},
	{"int overflow", `{"i8":128}`, false},
	{"fraction into int", `{"n":1.5}`, false},
	{"negative into uint", `{"u":-1}`, false},
	{"float out of range", `{"f":1e400}`, false},
	{"trailing data", `{"url":"u"} {}`, false},
	{"syntax error", `{"url":"u",}`, false},
	{"top-level array", `[]`, false},
}

func TestFastInputDecoderAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range fastInputs {
		t.Run(tc.name, func(t *testing.T) {
			if fast := checkFastInput[fastIn](t, []byte(tc.in)); fast != tc.fast {
				t.Fatalf("fast decoder took it: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// checkFastInput decodes b with the fast decoder and, where it succeeds, requires
// encoding/json (as Action.Call runs it) to succeed with the same value.
func checkFastInput[T any](tb testing.TB, b []byte) bool {
	tb.Helper()
	var got T
	if !decodeFast(b, &got) {
		return false
	}
	var want T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil {
		tb.Fatalf("fast decoder took %q, encoding/json refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("fast decoder read %#v\nencoding/json %#v\ninput %q", got, want, b)
	}
	return true
}

func TestFastInputDecoderLeavesOtherTypesToEncodingJSON(t *testing.T) {
	type embedded struct{ fastItem }
	type stringOption struct {
		N int `json:"n,string"`
	}
	type withTime struct {
		At time.Time `json:"at"`
	}
	type withBytes struct {
		B []byte `json:"b"`
	}
	type withFloat32 struct {
		F float32 `json:"f"`
	}
	type odd struct {
		A string `json:"a b"`
	}
	type recursive struct {
		Next *recursive `json:"next"`
	}
	type withInterface struct {
		E error `json:"e"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
	}{
		{"embedded struct", reflect.TypeFor[embedded]()},
		{"string option", reflect.TypeFor[stringOption]()},
		{"clashing names", reflect.StructOf([]reflect.StructField{ // built, since vet refuses it as source
			{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"a"`},
			{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"a"`},
		})},
		{"time.Time", reflect.TypeFor[withTime]()},
		{"[]byte", reflect.TypeFor[withBytes]()},
		{"float32", reflect.TypeFor[withFloat32]()},
		{"unusual name", reflect.TypeFor[odd]()},
		{"recursive type", reflect.TypeFor[recursive]()},
		{"interface with methods", reflect.TypeFor[withInterface]()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if decoderFor(tc.typ) != nil {
				t.Fatal("the fast decoder claims a type it does not handle")
			}
		})
	}
}

func TestActionErrorsUnchangedByFastDecoder(t *testing.T) {
	a := Action[fastIn, struct{}]{Name: "a", Handle: func(_ context.Context, in fastIn) (struct{}, error) { return struct{}{}, nil }}
	tests := []struct{ name, in, want string }{
		{"unknown field", `{"nope":1}`, `invalid_input: nope: unknown field "nope"`},
		{"wrong type", `{"n":"x"}`, "invalid_input: n: must be a integer (got string)"},
		{"nested wrong type", `{"list":[{"email":1}]}`, "invalid_input: list.email: must be a string (got number)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Call(context.Background(), json.RawMessage(tc.in))
			if err == nil || toABIError(err).Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}

func FuzzFastInputDecoder(f *testing.F) {
	for _, tc := range fastInputs {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(strings.Repeat(`{"nested":`, 5)))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFastInput[fastIn](t, b)
		checkFastInput[map[string]any](t, b)
		checkFastInput[[]fastItem](t, b)
	})
}
