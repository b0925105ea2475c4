package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Validator is a configuration section that checks itself. Its errors name fields relative
// to the section (a *core.FieldError, or several joined).
type Validator interface {
	Validate() error
}

// Options tunes Load.
type Options struct {
	// EnvPrefix is the prefix of environment variables that set values (AQUAHUB_).
	EnvPrefix string
	// IgnoreEnv lists variables with the prefix that belong to something else (the CLI's
	// client settings) and are not settings.
	IgnoreEnv []string
}

// Load reads the file at path (optional: "" reads none), then environment variables, then
// the overrides (flag values keyed by path, such as "server.addr") into dst, a pointer to a
// struct holding the defaults. It expands ${VAR}, decodes strictly and validates.
func Load(path string, overrides map[string]any, dst any, opts Options) error {
	k := koanf.New(".")
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	known := leafPaths(reflect.TypeOf(dst).Elem(), "")
	var envErr error
	err := k.Load(env.Provider(".", env.Opt{Prefix: opts.EnvPrefix, TransformFunc: func(key, v string) (string, any) {
		for _, ignored := range opts.IgnoreEnv {
			if key == ignored {
				return "", nil
			}
		}
		name := strings.ToLower(strings.TrimPrefix(key, opts.EnvPrefix))
		for _, p := range known {
			if strings.ReplaceAll(p, ".", "_") == name {
				return p, v
			}
		}
		envErr = errors.Join(envErr, fmt.Errorf("environment variable %s: no such setting%s (settings: %s)", key, nearest(name, known, opts.EnvPrefix), strings.Join(known, ", ")))
		return "", nil
	}}), nil)
	if err != nil {
		return err
	}
	if envErr != nil {
		return envErr
	}
	if len(overrides) > 0 {
		if err := k.Load(confmap.Provider(overrides, "."), nil); err != nil {
			return err
		}
	}
	raw := k.Raw()
	if err := expandEnv(raw, ""); err != nil {
		return err
	}
	dec := &mapstructure.DecoderConfig{
		Result: dst, TagName: "koanf", ErrorUnused: true, WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc(), mapstructure.TextUnmarshallerHookFunc(), mapstructure.StringToSliceHookFunc(",")),
	}
	d, err := mapstructure.NewDecoder(dec)
	if err != nil {
		return err
	}
	where := orDefault(path, "configuration")
	if err := d.Decode(raw); err != nil {
		return fmt.Errorf("%s: %w", where, cleanDecodeError(err, reflect.TypeOf(dst).Elem()))
	}
	if err := Validate(dst); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// nearest suggests the known setting closest to an unknown environment variable's name.
func nearest(name string, known []string, prefix string) string {
	best, bestD := "", max(2, len(name)/3)+1
	for _, p := range known {
		if d := distance(name, strings.ReplaceAll(p, ".", "_")); d < bestD {
			best, bestD = p, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s%s?", prefix, strings.ToUpper(strings.ReplaceAll(best, ".", "_")))
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

var invalidKeys = regexp.MustCompile(`'([^']*)' has invalid keys: (.*)`)

// cleanDecodeError turns mapstructure's wording into "path: problem" lines.
func cleanDecodeError(err error, root reflect.Type) error {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "decoding failed due to the following error(s):\n\n", "")
	msg = invalidKeys.ReplaceAllStringFunc(msg, func(s string) string {
		m := invalidKeys.FindStringSubmatch(s)
		var out []string
		for _, k := range strings.Split(m[2], ", ") {
			out = append(out, joinPath(m[1], k)+": unknown key")
		}
		return strings.Join(out, "; ")
	})
	msg = strings.ReplaceAll(msg, root.String()+".", "")
	return errors.New(msg)
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	if strings.HasPrefix(b, "[") {
		return a + b
	}
	return a + "." + b
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in every string; an unset variable is an error naming the path.
func expandEnv(v any, path string) error {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok {
				out, err := expandString(s, joinPath(path, k))
				if err != nil {
					return err
				}
				x[k] = out
				continue
			}
			if err := expandEnv(val, joinPath(path, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, val := range x {
			p := fmt.Sprintf("%s[%d]", path, i)
			if s, ok := val.(string); ok {
				out, err := expandString(s, p)
				if err != nil {
					return err
				}
				x[i] = out
				continue
			}
			if err := expandEnv(val, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func expandString(s, path string) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := os.LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", path, missing)
	}
	return out, nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// leafPaths lists the dotted koanf paths of scalar settings in t, for mapping environment
// variable names onto them.
func leafPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, squash := koanfTag(f)
		if tag == "-" || (tag == "" && !squash) {
			continue
		}
		p := joinPath(prefix, tag)
		ft := f.Type
		if ft.Kind() == reflect.Struct && ft != durationType {
			if squash {
				p = prefix
			}
			out = append(out, leafPaths(ft, p)...)
			continue
		}
		if ft.Kind() == reflect.Map || (ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct) {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// koanfTag returns a field's key and whether it is squashed into its parent.
func koanfTag(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("koanf")
	name, opts, _ := strings.Cut(tag, ",")
	return name, opts == "squash"
}

// Validate checks v (a struct or a pointer to one) and every section inside it: each value
// with a Validate method is asked, and its field errors are prefixed with the section's
// path. Maps are walked in key order and slices by index.
func Validate(v any) error {
	var errs []error
	walk(reflect.ValueOf(v), "", &errs)
	return errors.Join(errs...)
}

var validatorType = reflect.TypeOf((*Validator)(nil)).Elem()

func walk(v reflect.Value, path string, errs *[]error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Type().Implements(validatorType) || reflect.PointerTo(v.Type()).Implements(validatorType) {
		var val Validator
		if v.CanAddr() && reflect.PointerTo(v.Type()).Implements(validatorType) {
			val = v.Addr().Interface().(Validator)
		} else if v.Type().Implements(validatorType) {
			val = v.Interface().(Validator)
		}
		if val != nil {
			*errs = append(*errs, prefixed(path, val.Validate())...)
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == durationType {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			tag, squash := koanfTag(f)
			if tag == "-" || (tag == "" && !squash) {
				continue
			}
			p := joinPath(path, tag)
			if squash {
				p = path
			}
			walk(v.Field(i), p, errs)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			walk(v.MapIndex(k), joinPath(path, fmt.Sprint(k)), errs)
		}
	}
}

// prefixed returns err's errors with path in front of each field path.
func prefixed(path string, err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, prefixed(path, e)...)
		}
		return out
	}
	var fe *core.FieldError
	if errors.As(err, &fe) {
		return []error{&core.FieldError{Path: joinPath(path, fe.Path), Reason: fe.Reason}}
	}
	if path == "" {
		return []error{err}
	}
	return []error{fmt.Errorf("%s: %w", path, err)}
}
