package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"time"
)

// SpecVersion is the only CloudEvents version aquahub accepts.
const SpecVersion = "1.0"

// Event is a CloudEvents 1.0 event plus the tenant that sent it and the hub's sequence
// number. The tenant always comes from the caller's credential, never from the body.
type Event struct {
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	SpecVersion     string          `json:"specversion"`
	Subject         string          `json:"subject,omitempty"`
	Time            *time.Time      `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	DataSchema      string          `json:"dataschema,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	// Extensions are the CloudEvents extension attributes, flattened into the JSON object.
	Extensions map[string]any `json:"-"`

	// Tenant owns the event. It is stored but never read from a client's body.
	Tenant string `json:"-"`
	// Seq is the hub's global sequence number, assigned when the event is accepted.
	Seq uint64 `json:"-"`
	// ReceivedAt is when the hub accepted the event.
	ReceivedAt time.Time `json:"-"`
}

var extensionName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

var coreAttributes = map[string]bool{
	"id": true, "source": true, "type": true, "specversion": true, "subject": true, "time": true,
	"datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
}

// hubAttributes are the attributes aquahub adds when it stores or shows an event; a client
// may not set them.
var hubAttributes = map[string]bool{"aquahubtenant": true, "aquahubseq": true, "aquahubreceived": true}

// DecodeEvent parses one structured-mode CloudEvent. Unknown attributes are accepted as
// extensions only if their names follow the CloudEvents naming rule; anything else is an
// error naming the attribute. DecodeEvent does not validate required attributes: Validate does.
func DecodeEvent(raw []byte) (Event, error) {
	var ev Event
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ev, Invalid("", "event must be a JSON object")
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &attrs); err != nil {
		return ev, Invalid("", "malformed JSON: %v", jsonErrorText(err))
	}
	for name, val := range attrs {
		switch {
		case coreAttributes[name]:
		case hubAttributes[name]:
			return ev, Invalid(name, "attribute is set by the hub and may not be sent")
		case extensionName.MatchString(name):
			var v any
			if err := json.Unmarshal(val, &v); err != nil {
				return ev, Invalid(name, "malformed value: %v", err)
			}
			switch v.(type) {
			case string, float64, bool:
			default:
				return ev, Invalid(name, "extension attribute must be a string, number or boolean")
			}
			if ev.Extensions == nil {
				ev.Extensions = map[string]any{}
			}
			ev.Extensions[name] = v
		default:
			return ev, Invalid(name, "unknown attribute: extension names are 1-20 lowercase letters or digits")
		}
	}
	str := func(name string, dst *string) error {
		v, ok := attrs[name]
		if !ok || string(v) == "null" {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return Invalid(name, "must be a string")
		}
		return nil
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"id", &ev.ID}, {"source", &ev.Source}, {"type", &ev.Type}, {"specversion", &ev.SpecVersion},
		{"subject", &ev.Subject}, {"datacontenttype", &ev.DataContentType}, {"dataschema", &ev.DataSchema},
	} {
		if err := str(f.name, f.dst); err != nil {
			return ev, err
		}
	}
	if v, ok := attrs["time"]; ok && string(v) != "null" {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return ev, Invalid("time", "must be an RFC 3339 string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return ev, Invalid("time", "must be an RFC 3339 timestamp (got %q)", s)
		}
		ev.Time = &t
	}
	if v, ok := attrs["data_base64"]; ok {
		if _, both := attrs["data"]; both {
			return ev, Invalid("data_base64", "data and data_base64 are mutually exclusive")
		}
		var b []byte
		if err := json.Unmarshal(v, &b); err != nil {
			return ev, Invalid("data_base64", "must be base64")
		}
		// Binary data is kept as a JSON string so every stored event stays valid JSON.
		enc, _ := json.Marshal(string(b))
		ev.Data = enc
	} else if v, ok := attrs["data"]; ok && string(v) != "null" {
		ev.Data = append(json.RawMessage(nil), v...)
	}
	return ev, nil
}

// Validate checks the attributes CloudEvents requires.
func (e *Event) Validate() error {
	switch {
	case e.ID == "":
		return Invalid("id", "required attribute is missing or empty")
	case e.Source == "":
		return Invalid("source", "required attribute is missing or empty")
	case e.Type == "":
		return Invalid("type", "required attribute is missing or empty")
	case e.SpecVersion == "":
		return Invalid("specversion", "required attribute is missing or empty")
	case e.SpecVersion != SpecVersion:
		return Invalid("specversion", "unsupported version %q: aquahub accepts %q", e.SpecVersion, SpecVersion)
	}
	if len(e.ID) > 256 {
		return Invalid("id", "longer than 256 characters")
	}
	if len(e.Source) > 1024 {
		return Invalid("source", "longer than 1024 characters")
	}
	return nil
}

// MarshalJSON writes the structured-mode CloudEvent with extensions flattened in.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	base, err := json.Marshal(plain(e))
	if err != nil {
		return nil, err
	}
	if len(e.Extensions) == 0 {
		return base, nil
	}
	var buf bytes.Buffer
	buf.Write(base[:len(base)-1])
	names := make([]string, 0, len(e.Extensions))
	for k := range e.Extensions {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := json.Marshal(e.Extensions[k])
		if err != nil {
			return nil, fmt.Errorf("extension %q: %w", k, err)
		}
		fmt.Fprintf(&buf, ",%q:", k)
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// DataValue returns the event's data decoded as JSON (nil when absent).
func (e *Event) DataValue() any {
	if len(e.Data) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return string(e.Data)
	}
	return v
}

// Map returns the event as the map rule expressions see as `event`.
func (e *Event) Map() map[string]any {
	m := map[string]any{
		"id": e.ID, "source": e.Source, "type": e.Type, "specversion": e.SpecVersion,
		"subject": e.Subject, "datacontenttype": e.DataContentType, "dataschema": e.DataSchema,
		"data": e.DataValue(), "tenant": e.Tenant, "seq": e.Seq,
	}
	if e.Time != nil {
		m["time"] = e.Time.Format(time.RFC3339Nano)
	} else {
		m["time"] = ""
	}
	for k, v := range e.Extensions {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return m
}

func jsonErrorText(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	return err.Error()
}
