package abi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aquascene/aquahub/sdk/internal/wirejson"
)

// The guest side of the envelopes: a wasm guest decodes InvokeRequest and HTTPResponse
// and encodes InvokeResponse, HTTPRequest and LogRecord on every call, and encoding/json's
// reflection and garbage cost it several times the work of the call itself. These
// functions read what json.Unmarshal reads into the same types and write what json.Marshal
// writes for them, without HTML escaping (see AppendJSONString). The host keeps its own
// strict decoders (DecodeHTTPRequest, DecodeInvokeResponse): a guest is not trusted.

// DecodeInvokeRequest parses an invoke request as json.Unmarshal would (unknown fields
// ignored, keys matched case-insensitively when not exactly) and requires an action.
// The request's strings and inputs share one copy of b, so b may change afterwards.
func DecodeInvokeRequest(b []byte) (*InvokeRequest, error) {
	r := &InvokeRequest{}
	if err := wirejson.DecodeObjectShared(bytes.Clone(b), r.decodeFields); err != nil {
		return nil, fmt.Errorf("invoke request: %w", err)
	}
	if r.Action == "" {
		return nil, errors.New("invoke request: action: required")
	}
	return r, nil
}

var invokeRequestFields = []string{"action", "inputs", "config", "secrets", "tenant", "run_id",
	"step_id", "idempotency_key", "attempt", "deadline_unix_ms", "log_level"}

func (r *InvokeRequest) decodeFields(d *wirejson.Reader, key []byte) error {
	switch wirejson.FieldName(key, invokeRequestFields...) {
	case "action":
		return d.StringField(&r.Action)
	case "inputs":
		return d.RawsField(&r.Inputs)
	case "config":
		return d.MapField(&r.Config)
	case "secrets":
		return d.StringsField(&r.Secrets)
	case "tenant":
		return d.StringField(&r.Tenant)
	case "run_id":
		return d.StringField(&r.RunID)
	case "step_id":
		return d.StringField(&r.StepID)
	case "idempotency_key":
		return d.StringField(&r.IdempotencyKey)
	case "attempt":
		n := int64(r.Attempt)
		err := d.IntField(&n)
		r.Attempt = int(n)
		return err
	case "deadline_unix_ms":
		return d.IntField(&r.DeadlineUnixMS)
	case "log_level":
		return d.StringField(&r.LogLevel)
	}
	_, err := d.Skip()
	return err
}

// DecodeHTTPResponse parses an http_request result as json.Unmarshal would (unknown fields
// ignored). It is the guest's reader of what its host sends; the host never uses it. The
// response's strings point into b, which must not change afterwards: the guest hands it
// the buffer it took the result into.
func DecodeHTTPResponse(b []byte) (*HTTPResponse, error) {
	r := &HTTPResponse{}
	if err := wirejson.DecodeObjectShared(b, r.decodeFields); err != nil {
		return nil, fmt.Errorf("http response: %w", err)
	}
	return r, nil
}

var httpResponseFields = []string{"status", "headers", "body", "url", "error"}

func (r *HTTPResponse) decodeFields(d *wirejson.Reader, key []byte) error {
	switch wirejson.FieldName(key, httpResponseFields...) {
	case "status":
		n := int64(r.Status)
		err := d.IntField(&n)
		r.Status = int(n)
		return err
	case "headers":
		return d.HeadersField(&r.Headers)
	case "body":
		return d.BytesField(&r.Body)
	case "url":
		return d.StringField(&r.URL)
	case "error":
		if isNull, err := d.Null(); isNull || err != nil {
			r.Error = nil
			return err
		}
		if r.Error == nil {
			r.Error = &HTTPError{}
		}
		return d.ObjectInto("HTTPError", r.Error.decodeFields)
	}
	_, err := d.Skip()
	return err
}

var httpErrorFields = []string{"code", "message", "retry_after_ms"}

func (e *HTTPError) decodeFields(d *wirejson.Reader, key []byte) error {
	switch wirejson.FieldName(key, httpErrorFields...) {
	case "code":
		return d.StringField(&e.Code)
	case "message":
		return d.StringField(&e.Message)
	case "retry_after_ms":
		return d.IntField(&e.RetryAfterMS)
	}
	_, err := d.Skip()
	return err
}

// AppendJSON appends the response's JSON encoding to dst. Outputs are copied as they are:
// each must be compact, valid JSON, which the SDK's own actions produce.
func (r *InvokeResponse) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	sep := false
	if len(r.Results) > 0 {
		dst = append(dst, `"results":[`...)
		for i, res := range r.Results {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if len(res.Output) > 0 {
				dst = append(dst, `"output":`...)
				dst = append(dst, res.Output...)
			}
			if res.Error != nil {
				if len(res.Output) > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `"error":`...)
				dst = res.Error.AppendJSON(dst)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		sep = true
	}
	if r.Error != nil {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"error":`...)
		dst = r.Error.AppendJSON(dst)
		sep = true
	}
	if len(r.Usage) > 0 {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"usage":[`...)
		for i, u := range r.Usage {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"quota":`...)
			dst = AppendJSONString(dst, u.Quota)
			dst = append(dst, `,"used":`...)
			dst = strconv.AppendInt(dst, u.Used, 10)
			dst = append(dst, `,"limit":`...)
			dst = strconv.AppendInt(dst, u.Limit, 10)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// AppendJSON appends the error's JSON encoding to dst.
func (e *Error) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"kind":`...)
	dst = AppendJSONString(dst, string(e.Kind))
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, e.Message)
	if e.RetryAfterMS != 0 {
		dst = append(dst, `,"retry_after_ms":`...)
		dst = strconv.AppendInt(dst, e.RetryAfterMS, 10)
	}
	if e.Field != "" {
		dst = append(dst, `,"field":`...)
		dst = AppendJSONString(dst, e.Field)
	}
	return append(dst, '}')
}

// AppendJSON appends the request's JSON encoding to dst, headers in sorted order.
func (r *HTTPRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"method":`...)
	dst = AppendJSONString(dst, r.Method)
	dst = append(dst, `,"url":`...)
	dst = AppendJSONString(dst, r.URL)
	if len(r.Headers) > 0 {
		dst = appendHeaders(append(dst, `,"headers":`...), r.Headers)
	}
	if len(r.Body) > 0 {
		dst = appendBase64(append(dst, `,"body":`...), r.Body)
	}
	return append(dst, '}')
}

// appendHeaders appends h as a JSON object, names in sorted order, as encoding/json does.
func appendHeaders(dst []byte, h map[string][]string) []byte {
	dst, _ = wirejson.AppendObject(dst, h, false, func(dst []byte, vs []string) ([]byte, error) {
		return appendStrings(dst, vs), nil
	})
	return dst
}

// appendBase64 appends b as a JSON string in standard base64, as encoding/json writes []byte.
func appendBase64(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// AppendJSON appends the response's JSON encoding to dst, headers in sorted order: what
// the host returns for every http_request.
func (r *HTTPResponse) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	sep := func() {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
	}
	if r.Status != 0 {
		dst = append(dst, `"status":`...)
		dst = strconv.AppendInt(dst, int64(r.Status), 10)
	}
	if len(r.Headers) > 0 {
		sep()
		dst = appendHeaders(append(dst, `"headers":`...), r.Headers)
	}
	if len(r.Body) > 0 {
		sep()
		dst = appendBase64(append(dst, `"body":`...), r.Body)
	}
	if r.URL != "" {
		sep()
		dst = append(dst, `"url":`...)
		dst = AppendJSONString(dst, r.URL)
	}
	if e := r.Error; e != nil {
		sep()
		dst = append(dst, `"error":{"code":`...)
		dst = AppendJSONString(dst, e.Code)
		dst = append(dst, `,"message":`...)
		dst = AppendJSONString(dst, e.Message)
		if e.RetryAfterMS != 0 {
			dst = append(dst, `,"retry_after_ms":`...)
			dst = strconv.AppendInt(dst, e.RetryAfterMS, 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

// AppendJSON appends the record's JSON encoding to dst, attributes in sorted order. It
// fails, as json.Marshal does, on a value JSON cannot hold (NaN, a channel...).
func (r *LogRecord) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"level":`...)
	dst = AppendJSONString(dst, r.Level)
	dst = append(dst, `,"msg":`...)
	dst = AppendJSONString(dst, r.Msg)
	if len(r.Attrs) > 0 {
		dst = append(dst, `,"attrs":`...)
		var err error
		if dst, err = AppendJSONValue(dst, r.Attrs); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// AppendJSONValue appends v as json.Marshal would (maps in sorted key order) but without
// HTML escaping, by hand for the shapes decoded JSON and slog attributes take (maps of
// string to any, slices of any, strings, numbers, booleans, nil) and through json.Marshal
// for the rest. The host encodes rendered step inputs with it: encoding/json looks each
// interface value's type up in its encoder cache, which cost more than the encoding.
func AppendJSONValue(dst []byte, v any) ([]byte, error) {
	return wirejson.AppendAny(dst, v, false, 0, maxValueDepth, appendOtherValue)
}

// maxValueDepth bounds AppendJSONValue's nesting; deeper values go to json.Marshal, which
// reports a cycle if there is one.
const maxValueDepth = 1000

// appendOtherValue writes the integer types slog attributes carry and float32 by hand, and
// anything else through json.Marshal.
func appendOtherValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case float32:
		return wirejson.AppendFloat(dst, float64(v), 32)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}
