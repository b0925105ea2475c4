package plugin

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/aquascene/aquahub/sdk/internal/wirejson"
)

// The fast input decoder reads an action's input into its In type without encoding/json's
// byte-at-a-time scanner, which a wasm guest pays for dearly on every call. It handles the
// plain case only: exact key matches, no repeated keys, types made of strings, numbers,
// booleans, slices, string-keyed maps, pointers, structs, any and json.RawMessage. Anything
// else, and every input it does not decode, goes to encoding/json, which then also writes
// the error; so where the fast decoder succeeds it must agree with encoding/json, and where
// it gives up nothing changes.

// errSlow says the fast decoder gives the input to encoding/json.
var errSlow = errors.New("plugin: input needs encoding/json")

type decodeFunc func(d *wirejson.Reader, v reflect.Value) error

// decoders caches a decodeFunc per type; a nil one means the type goes to encoding/json.
var decoders sync.Map // reflect.Type -> decodeFunc

// decodeFast decodes raw into *ptr and reports whether it could. On false *ptr may be
// partly written.
func decodeFast(raw []byte, ptr any) bool {
	v := reflect.ValueOf(ptr).Elem()
	dec := decoderFor(v.Type())
	if dec == nil {
		return false
	}
	d := wirejson.NewReader(raw)
	return dec(d, v) == nil && d.End() == nil
}

func decoderFor(t reflect.Type) decodeFunc {
	if dec, ok := decoders.Load(t); ok {
		return dec.(decodeFunc)
	}
	dec := buildDecoder(t, map[reflect.Type]bool{})
	decoders.Store(t, dec)
	return dec
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// buildDecoder returns t's decoder, or nil when encoding/json must decode t.
func buildDecoder(t reflect.Type, building map[reflect.Type]bool) decodeFunc {
	if t == rawType {
		return decodeRaw
	}
	// A pointer is followed to what it points to, which is where encoding/json looks for
	// the unmarshaling methods too.
	if building[t] || t.Kind() != reflect.Pointer && (t.Implements(unmarshalerType) ||
		reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(textUnmarshalerType) ||
		reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		return nil
	}
	building[t] = true
	defer delete(building, t)
	switch t.Kind() {
	case reflect.String:
		return decodeString
	case reflect.Bool:
		return decodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decodeInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return decodeUint
	case reflect.Float64:
		return decodeFloat
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return decodeAny
		}
	case reflect.Pointer:
		if elem := buildDecoder(t.Elem(), building); elem != nil {
			return pointerDecoder(elem)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // base64
		}
		if elem := buildDecoder(t.Elem(), building); elem != nil {
			return sliceDecoder(elem)
		}
	case reflect.Map:
		kt := t.Key()
		if kt.Kind() != reflect.String || reflect.PointerTo(kt).Implements(textUnmarshalerType) {
			return nil
		}
		if elem := buildDecoder(t.Elem(), building); elem != nil {
			return mapDecoder(t, elem)
		}
	case reflect.Struct:
		return structDecoder(t, building)
	}
	return nil
}

func decodeRaw(d *wirejson.Reader, v reflect.Value) error {
	raw, err := d.Skip()
	if err != nil {
		return err
	}
	v.SetBytes(append([]byte(nil), raw...))
	return nil
}

func decodeString(d *wirejson.Reader, v reflect.Value) error {
	switch d.Next() {
	case '"':
		s, err := d.String()
		v.SetString(s)
		return err
	case 'n':
		return d.Literal("null")
	}
	return errSlow
}

func decodeBool(d *wirejson.Reader, v reflect.Value) error {
	switch d.Next() {
	case 't':
		v.SetBool(true)
		return d.Literal("true")
	case 'f':
		v.SetBool(false)
		return d.Literal("false")
	case 'n':
		return d.Literal("null")
	}
	return errSlow
}

// number reads a number literal, or reports null (nil, nil) or another value (errSlow).
func number(d *wirejson.Reader) ([]byte, error) {
	switch c := d.Next(); {
	case c == 'n':
		return nil, d.Literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.Number()
	}
	return nil, errSlow
}

func decodeInt(d *wirejson.Reader, v reflect.Value) error {
	num, err := number(d)
	if num == nil || err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(num), 10, v.Type().Bits())
	if err != nil {
		return errSlow
	}
	v.SetInt(n)
	return nil
}

func decodeUint(d *wirejson.Reader, v reflect.Value) error {
	num, err := number(d)
	if num == nil || err != nil {
		return err
	}
	n, err := strconv.ParseUint(string(num), 10, v.Type().Bits())
	if err != nil {
		return errSlow
	}
	v.SetUint(n)
	return nil
}

func decodeFloat(d *wirejson.Reader, v reflect.Value) error {
	num, err := number(d)
	if num == nil || err != nil {
		return err
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return errSlow
	}
	v.SetFloat(f)
	return nil
}

func decodeAny(d *wirejson.Reader, v reflect.Value) error {
	x, err := d.Any()
	if err != nil {
		return err
	}
	if x == nil {
		v.SetZero()
		return nil
	}
	v.Set(reflect.ValueOf(x))
	return nil
}

func pointerDecoder(elem decodeFunc) decodeFunc {
	return func(d *wirejson.Reader, v reflect.Value) error {
		if d.Next() == 'n' {
			v.SetZero()
			return d.Literal("null")
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return elem(d, v.Elem())
	}
}

func sliceDecoder(elem decodeFunc) decodeFunc {
	return func(d *wirejson.Reader, v reflect.Value) error {
		switch d.Next() {
		case 'n':
			v.SetZero()
			return d.Literal("null")
		case '[':
		default:
			return errSlow
		}
		s := reflect.MakeSlice(v.Type(), 0, 0)
		err := d.Array(func() error {
			s = reflect.Append(s, reflect.Zero(s.Type().Elem()))
			return elem(d, s.Index(s.Len()-1))
		})
		v.Set(s)
		return err
	}
}

func mapDecoder(t reflect.Type, elem decodeFunc) decodeFunc {
	kt, et := t.Key(), t.Elem()
	return func(d *wirejson.Reader, v reflect.Value) error {
		switch d.Next() {
		case 'n':
			v.SetZero()
			return d.Literal("null")
		case '{':
		default:
			return errSlow
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		return d.Object(func(key []byte) error {
			ev := reflect.New(et).Elem()
			if err := elem(d, ev); err != nil {
				return err
			}
			k := reflect.ValueOf(string(key))
			if k.Type() != kt {
				k = k.Convert(kt)
			}
			v.SetMapIndex(k, ev)
			return nil
		})
	}
}

type fieldDecoder struct {
	name  string
	index int
	dec   decodeFunc
}

// structDecoder decodes the exported fields by their exact JSON names. Embedded fields,
// the string option, clashing or unusual names and more than 64 fields are left to
// encoding/json.
func structDecoder(t reflect.Type, building map[reflect.Type]bool) decodeFunc {
	var fields []fieldDecoder
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
		for o := range strings.SplitSeq(opts, ",") {
			if o == "string" {
				return nil
			}
		}
		if name == "" {
			name = f.Name
		}
		if !plainName(name) {
			return nil
		}
		for _, g := range fields {
			if g.name == name {
				return nil
			}
		}
		dec := buildDecoder(f.Type, building)
		if dec == nil {
			return nil
		}
		fields = append(fields, fieldDecoder{name: name, index: i, dec: dec})
	}
	if len(fields) > 64 {
		return nil
	}
	return func(d *wirejson.Reader, v reflect.Value) error {
		switch d.Next() {
		case 'n':
			return d.Literal("null")
		case '{':
		default:
			return errSlow
		}
		var seen uint64
		return d.Object(func(key []byte) error {
			for i := range fields {
				f := &fields[i]
				if f.name != string(key) {
					continue
				}
				if seen&(1<<i) != 0 {
					return errSlow
				}
				seen |= 1 << i
				return f.dec(d, v.Field(f.index))
			}
			return errSlow
		})
	}
}

// plainName reports whether a JSON name is one encoding/json surely takes as it is.
func plainName(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}
