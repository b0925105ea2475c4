package plugin

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aquascene/aquahub/sdk/internal/wirejson"
)

// The fast output encoder writes an action's Out value as json.Marshal writes it, byte for
// byte (HTML escaping included), without encoding/json's per-value reflection, which a wasm
// guest pays for on every call. Like the fast input decoder it takes plain types only:
// strings, numbers, booleans, slices, string-keyed maps, pointers, structs whose fields
// have plain JSON names and at most the omitempty option, and any. A type it does not take
// goes to json.Marshal whole, and so does a value it cannot write (NaN, a value of a type
// it does not take held in an any field), so json.Marshal also writes every error.

// An encodeFunc appends v to dst; depth counts the any values it is nested in, since only
// an any can close a cycle (recursive types go to json.Marshal).
type encodeFunc func(dst []byte, v reflect.Value, depth int) ([]byte, error)

// maxAnyDepth bounds nesting through any values, past which json.Marshal takes over and
// reports a cycle if there is one.
const maxAnyDepth = 1000

// encoders caches an encodeFunc per type; a nil one means json.Marshal encodes the type.
var encoders sync.Map // reflect.Type -> encodeFunc

// marshalOutput encodes out as json.Marshal does.
func marshalOutput(out any) ([]byte, error) {
	v := reflect.ValueOf(out)
	if enc := encoderFor(v.Type()); enc != nil {
		if b, err := enc(make([]byte, 0, 256), v, 0); err == nil {
			return b, nil
		}
	}
	return json.Marshal(out)
}

func encoderFor(t reflect.Type) encodeFunc {
	if enc, ok := encoders.Load(t); ok {
		return enc.(encodeFunc)
	}
	enc := buildEncoder(t, map[reflect.Type]bool{})
	encoders.Store(t, enc)
	return enc
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// errUnsupported sends a value to json.Marshal, which writes it or its error.
var errUnsupported = errors.New("plugin: output needs encoding/json")

// buildEncoder returns t's encoder, or nil when json.Marshal must encode t. A recursive
// type is left to json.Marshal too.
func buildEncoder(t reflect.Type, building map[reflect.Type]bool) encodeFunc {
	if building[t] || t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) ||
		t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return nil
	}
	if t == numberType {
		return encodeNumber
	}
	building[t] = true
	defer delete(building, t)
	switch t.Kind() {
	case reflect.String:
		return encodeString
	case reflect.Bool:
		return encodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return encodeInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return encodeUint
	case reflect.Float32:
		return encodeFloat32
	case reflect.Float64:
		return encodeFloat64
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return encodeAny
		}
	case reflect.Pointer:
		if elem := buildEncoder(t.Elem(), building); elem != nil {
			return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
				if v.IsNil() {
					return append(dst, "null"...), nil
				}
				return elem(dst, v.Elem(), depth)
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // base64
		}
		if elem := buildEncoder(t.Elem(), building); elem != nil {
			return sliceEncoder(elem)
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil
		}
		if t == reflect.TypeFor[map[string]string]() {
			return encodeStringMap
		}
		if elem := buildEncoder(t.Elem(), building); elem != nil {
			return mapEncoder(elem)
		}
	case reflect.Struct:
		return structEncoder(t, building)
	}
	return nil
}

func encodeString(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	return wirejson.AppendString(dst, v.String(), true), nil
}

var numberType = reflect.TypeFor[json.Number]()

// encodeNumber writes a json.Number as the literal it holds, "0" for an empty one, as
// encoding/json does; one that is no JSON number goes to json.Marshal for its error.
func encodeNumber(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	return appendNumber(dst, v.String())
}

func appendNumber(dst []byte, s string) ([]byte, error) {
	if s == "" {
		s = "0"
	}
	if !validNumber(s) {
		return nil, errUnsupported
	}
	return append(dst, s...), nil
}

// validNumber reports whether s is a JSON number literal.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func encodeBool(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	return strconv.AppendBool(dst, v.Bool()), nil
}

func encodeInt(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	return strconv.AppendInt(dst, v.Int(), 10), nil
}

func encodeUint(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	return strconv.AppendUint(dst, v.Uint(), 10), nil
}

func encodeFloat32(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	return wirejson.AppendFloat(dst, v.Float(), 32)
}

func encodeFloat64(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	return wirejson.AppendFloat(dst, v.Float(), 64)
}

// encodeAny writes the shapes decoded JSON takes without reflection, and other values
// with their type's encoder.
func encodeAny(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(dst, "null"...), nil
	}
	return appendAny(dst, v.Elem().Interface(), depth+1)
}

func appendAny(dst []byte, x any, depth int) ([]byte, error) {
	return wirejson.AppendAny(dst, x, true, depth, maxAnyDepth, appendOther)
}

// appendOther writes what AppendAny leaves to it: json.Number, the types with an encoder,
// and nothing past maxAnyDepth.
func appendOther(dst []byte, x any, depth int) ([]byte, error) {
	if depth > maxAnyDepth {
		return nil, errUnsupported
	}
	if n, ok := x.(json.Number); ok {
		return appendNumber(dst, string(n))
	}
	v := reflect.ValueOf(x)
	enc := encoderFor(v.Type())
	if enc == nil {
		return nil, errUnsupported
	}
	return enc(dst, v, depth)
}

func sliceEncoder(elem encodeFunc) encodeFunc {
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = elem(dst, v.Index(i), depth); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
}

// encodeStringMap writes the commonest map without the reflective iteration, which
// allocates a copy of every key and value.
func encodeStringMap(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	m := v.Interface().(map[string]string)
	if m == nil {
		return append(dst, "null"...), nil
	}
	return wirejson.AppendObject(dst, m, true, func(dst []byte, s string) ([]byte, error) {
		return wirejson.AppendString(dst, s, true), nil
	})
}

// mapEncoder writes a string-keyed map in sorted key order, as encoding/json does.
func mapEncoder(elem encodeFunc) encodeFunc {
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		type entry struct {
			key string
			val reflect.Value
		}
		entries := make([]entry, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			entries = append(entries, entry{it.Key().String(), it.Value()})
		}
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
		dst = append(dst, '{')
		for i, e := range entries {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = wirejson.AppendString(dst, e.key, true)
			dst = append(dst, ':')
			var err error
			if dst, err = elem(dst, e.val, depth); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
}

type fieldEncoder struct {
	key       string // `"name":`
	index     int
	omitEmpty bool
	enc       encodeFunc
}

// structEncoder writes the exported fields in declaration order under their JSON names.
// Embedded fields, options other than omitempty and clashing or unusual names are left to
// json.Marshal.
func structEncoder(t reflect.Type, building map[reflect.Type]bool) encodeFunc {
	var fields []fieldEncoder
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		omitEmpty := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				omitEmpty = true
			default:
				return nil
			}
		}
		if name == "" {
			name = f.Name
		}
		if !plainName(name) || names[name] {
			return nil
		}
		names[name] = true
		enc := buildEncoder(f.Type, building)
		if enc == nil {
			return nil
		}
		fields = append(fields, fieldEncoder{key: strconv.Quote(name) + ":", index: i, omitEmpty: omitEmpty, enc: enc})
	}
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		dst = append(dst, '{')
		first := true
		for i := range fields {
			f := &fields[i]
			fv := v.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, f.key...)
			var err error
			if dst, err = f.enc(dst, fv, depth); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
