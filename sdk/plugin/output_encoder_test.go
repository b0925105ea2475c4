package plugin

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

type fastOutItem struct {
	Email string            `json:"email"`
	Name  string            `json:"name,omitempty"`
	Score float32           `json:"score"`
	Tags  map[fastName]bool `json:"tags,omitempty"`
}

// fastOut uses every kind the fast encoder handles, each with and without omitempty.
type fastOut struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	JSON    any               `json:"json,omitempty"`
	Text    string            `json:"text,omitempty"`
	URL     string            `json:"url"`
	I8      int8              `json:"i8,omitempty"`
	U       uint64            `json:"u"`
	F       float64           `json:"f,omitempty"`
	B       bool              `json:"b"`
	P       *string           `json:"p"`
	PO      *fastOutItem      `json:"po,omitempty"`
	List    []fastOutItem     `json:"list"`
	Strs    []string          `json:"strs,omitempty"`
	M       map[string]any    `json:"m"`
	Named   fastName          `json:"named"`
	NoTag   string
	Dash    string `json:"-"`
	//lint:ignore U1000 an unexported field the encoders must leave alone
	skipped string
}

func ptr[T any](v T) *T { return &v }

// fastOutputs are values the fast encoder writes, each compared with json.Marshal.
var fastOutputs = []struct {
	name string
	out  any
}{
	{"zero", fastOut{}},
	{"http response", fastOut{Status: 202, Headers: map[string]string{"x-message-id": "bench", "date": "Wed", "content-length": "0"}, URL: "http://127.0.0.1:9/v3/mail/send"}},
	{"decoded json", fastOut{Status: 200, JSON: map[string]any{"b": []any{1.5, "x", nil, true, map[string]any{}}, "a": 1e21, "c": 1e-7, "d": math.Copysign(0, -1)}, Headers: map[string]string{}}},
	{"html and escapes", fastOut{Text: "<h1>a & b</h1>\u2028\u2029\x00\x1f\"\\\n\t\xff", Headers: map[string]string{"<k>": "&v"}, NoTag: "é😀"}},
	{"every kind", fastOut{I8: -128, U: math.MaxUint64, F: math.MaxFloat64, B: true, P: ptr("p"), PO: &fastOutItem{Email: "e", Score: 0.1, Tags: map[fastName]bool{"z": true, "a": false}},
		List: []fastOutItem{{Email: "x", Name: "n", Score: float32(math.SmallestNonzeroFloat32)}}, Strs: []string{"a", ""}, M: map[string]any{"k": "v", "n": nil}, Named: "nm", Dash: "d", skipped: "s"}},
	{"empty collections", fastOut{List: []fastOutItem{}, Strs: []string{}, M: map[string]any{}, JSON: []any{}}},
	{"typed values in any", fastOut{JSON: map[string]any{"n": 3, "item": fastOutItem{Email: "<e>"}, "p": &fastOutItem{}, "s": []string{"a"}, "m": map[string]string{"b": "c"}}}},
	{"map", map[string]fastOutItem{"b": {Email: "b"}, "a": {Email: "a"}}},
	{"slice of any", []any{"a", 1.0, false}},
	{"scalar", "<s>"},
	{"numbers", map[string]any{"n": json.Number("1700000180"), "f": json.Number("-0.5e+10"), "empty": json.Number(""), "typed": struct {
		N json.Number `json:"n"`
	}{"12"}}},
	{"nil pointer", (*fastOut)(nil)},
}

func TestFastOutputEncoderWritesWhatEncodingJSONWrites(t *testing.T) {
	for _, tc := range fastOutputs {
		t.Run(tc.name, func(t *testing.T) {
			v := reflect.ValueOf(tc.out)
			enc := encoderFor(v.Type())
			if enc == nil {
				t.Fatalf("the fast encoder does not take %T", tc.out)
			}
			got, err := enc(nil, v, 0)
			if err != nil {
				t.Fatalf("the fast encoder fails: %v", err)
			}
			checkOutputBytes(t, tc.out, got)
		})
	}
}

// checkOutputBytes requires got to be what json.Marshal writes for out.
func checkOutputBytes(tb testing.TB, out any, got []byte) {
	tb.Helper()
	want, err := json.Marshal(out)
	if err != nil {
		tb.Fatalf("json.Marshal fails where the fast encoder wrote %s: %v", got, err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("fast encoder %s\njson.Marshal %s", got, want)
	}
}

type textKey struct{ s string }

func (k textKey) MarshalText() ([]byte, error) { return []byte(k.s), nil }

type selfMarshaler struct{}

func (*selfMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"mine"`), nil }

func TestFastOutputEncoderLeavesOtherTypesToEncodingJSON(t *testing.T) {
	type embedded struct{ fastOutItem }
	type stringOption struct {
		N int `json:"n,string"`
	}
	type omitZero struct {
		N int `json:"n,omitzero"`
	}
	type withTime struct {
		At time.Time `json:"at"`
	}
	type withBytes struct {
		B []byte `json:"b"`
	}
	type withRaw struct {
		R json.RawMessage `json:"r"`
	}
	type odd struct {
		A string `json:"a b"`
	}
	type recursive struct {
		Next *recursive `json:"next"`
	}
	type withArray struct {
		A [2]int `json:"a"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
	}{
		{"embedded struct", reflect.TypeFor[embedded]()},
		{"string option", reflect.TypeFor[stringOption]()},
		{"omitzero option", reflect.TypeFor[omitZero]()},
		{"clashing names", reflect.StructOf([]reflect.StructField{
			{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"a"`},
			{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"a"`},
		})},
		{"time.Time", reflect.TypeFor[withTime]()},
		{"[]byte", reflect.TypeFor[withBytes]()},
		{"json.RawMessage", reflect.TypeFor[withRaw]()},
		{"pointer-receiver marshaler", reflect.TypeFor[selfMarshaler]()},
		{"text marshaler", reflect.TypeFor[textKey]()},
		{"unusual name", reflect.TypeFor[odd]()},
		{"recursive type", reflect.TypeFor[recursive]()},
		{"array", reflect.TypeFor[withArray]()},
		{"int keys", reflect.TypeFor[map[int]string]()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if encoderFor(tc.typ) != nil {
				t.Fatal("the fast encoder claims a type it does not handle")
			}
		})
	}
}

// TestOutputsEncoderCannotWriteGoToEncodingJSON: values the fast encoder gives up on come
// out, or fail, exactly as json.Marshal has them.
func TestOutputsEncoderCannotWriteGoToEncodingJSON(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name string
		out  any
	}{
		{"NaN", fastOut{F: math.NaN()}},
		{"infinity in any", fastOut{JSON: []any{math.Inf(-1)}}},
		{"time in any", fastOut{JSON: map[string]any{"at": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"raw message in any", fastOut{JSON: json.RawMessage(`{ "a" : "<b>" }`)}},
		{"cycle", fastOut{JSON: cyclic}},
		{"channel", fastOut{JSON: make(chan int)}},
		{"invalid json.Number", fastOut{JSON: json.Number("01")}},
		{"json.Number that is no number", fastOut{JSON: []any{json.Number("1e")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := marshalOutput(tc.out)
			want, wantErr := json.Marshal(tc.out)
			if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
				t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %s\njson.Marshal %s", got, want)
			}
		})
	}
}

func FuzzFastOutputEncoder(f *testing.F) {
	f.Add([]byte(`{"status":202,"headers":{"a":"<b>"},"json":{"x":[1,2.5,"\u2028",null,true]},"url":"u"}`), "<&>\xff", -1.5e-7)
	f.Add([]byte(`[{"email":"e","score":1e30}]`), "\x00\"\\", 1e21)
	f.Fuzz(func(t *testing.T, b []byte, s string, x float64) {
		var out fastOut
		if json.Unmarshal(b, &out) == nil {
			checkFastOutput(t, out)
		}
		var items []fastOutItem
		if json.Unmarshal(b, &items) == nil {
			checkFastOutput(t, items)
		}
		var v any
		if json.Unmarshal(b, &v) == nil {
			checkFastOutput(t, fastOut{JSON: v, Text: s, F: x, Headers: map[string]string{s: s}, List: []fastOutItem{{Email: s, Score: float32(x)}}})
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			checkFastOutput(t, fastOut{JSON: []any{v, json.Number(s)}})
		}
	})
}

// checkFastOutput requires marshalOutput to agree with json.Marshal on out, bytes or error.
func checkFastOutput(tb testing.TB, out any) {
	tb.Helper()
	got, err := marshalOutput(out)
	want, wantErr := json.Marshal(out)
	if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
		tb.Fatalf("fast encoder %s (%v)\njson.Marshal %s (%v)", got, err, want, wantErr)
	}
}
