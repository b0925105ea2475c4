package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// EventDefinition is a custom behavioral event definition.
type EventDefinition struct {
	// Name is the internal name; the fully qualified name sent with occurrences is
	// pe{HubID}_{Name}.
	Name  string `json:"name"`
	Label string `json:"label"`
	// Properties maps each custom property to its type: string, number, enumeration,
	// datetime or bool.
	Properties map[string]string `json:"properties"`
}

// DefaultEventDefinitions returns the AquaScene portal's custom events: content_engagement
// (the seed's engagement event) and newsletter_engagement.
func DefaultEventDefinitions() []EventDefinition {
	return []EventDefinition{
		{Name: "content_engagement", Label: "Content engagement", Properties: map[string]string{
			"content_id": "string", "content_type": "string", "engagement_type": "string", "quality_score": "number",
		}},
		{Name: "newsletter_engagement", Label: "Newsletter engagement", Properties: map[string]string{
			"campaign_id": "string", "engagement_type": "string", "url": "string",
		}},
	}
}

type eventDefinition struct {
	EventDefinition
	id      string
	fqn     string
	created time.Time
	uuids   map[string]bool
}

// Occurrence is one custom event occurrence the simulator accepted.
type Occurrence struct {
	EventName  string            `json:"eventName"`
	UUID       string            `json:"uuid"`
	Email      string            `json:"email,omitempty"`
	ObjectID   string            `json:"objectId,omitempty"`
	UTK        string            `json:"utk,omitempty"`
	ContactID  string            `json:"contactId,omitempty"`
	OccurredAt time.Time         `json:"occurredAt"`
	Properties map[string]string `json:"properties"`
}

// defaultEventProperties are HubSpot's own event properties, accepted on every event.
var defaultEventProperties = []string{"hs_asset_description", "hs_asset_type", "hs_browser", "hs_campaign_id",
	"hs_city", "hs_country", "hs_device_name", "hs_language", "hs_link_href", "hs_operating_system", "hs_page_title",
	"hs_page_url", "hs_referrer", "hs_region", "hs_touchpoint_source", "hs_url_path", "hs_utm_campaign",
	"hs_utm_content", "hs_utm_medium", "hs_utm_source", "hs_utm_term"}

var eventName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)

// defineEvent adds a definition; the caller holds s.mu or is New.
func (s *Server) defineEvent(d EventDefinition) *eventDefinition {
	fqn := fmt.Sprintf("pe%d_%s", s.hubID, d.Name)
	def := &eventDefinition{EventDefinition: d, id: strconv.Itoa(len(s.events) + 9000001), fqn: fqn, created: s.now().UTC(), uuids: map[string]bool{}}
	if def.Properties == nil {
		def.Properties = map[string]string{}
	}
	s.events[fqn] = def
	return def
}

// Occurrences returns the accepted event occurrences, oldest first.
func (s *Server) Occurrences() []Occurrence {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Occurrence{}, s.occurrences...)
}

// EventName returns the fully qualified name of a definition's short name.
func (s *Server) EventName(name string) string { return fmt.Sprintf("pe%d_%s", s.hubID, name) }

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(segs) == 1 && segs[0] == "send" && r.Method == http.MethodPost:
		var in sendRequest
		if !decodeBody(w, r, &in) {
			return
		}
		occ, err := s.checkOccurrence(in)
		if err != nil {
			validationError(w, err.Error(), err.detail())
			return
		}
		s.record(occ)
		w.WriteHeader(http.StatusNoContent)
	case len(segs) == 2 && segs[0] == "send" && segs[1] == "batch" && r.Method == http.MethodPost:
		var in struct {
			Inputs []sendRequest `json:"inputs"`
		}
		if !decodeBody(w, r, &in) {
			return
		}
		if len(in.Inputs) == 0 || len(in.Inputs) > 500 {
			validationError(w, fmt.Sprintf("inputs: between 1 and 500 events per batch (got %d)", len(in.Inputs)), errorDetail{Message: "size must be between 1 and 500", In: "inputs"})
			return
		}
		var occs []Occurrence
		for i, x := range in.Inputs {
			occ, err := s.checkOccurrence(x)
			if err != nil {
				d := err.detail()
				d.In = fmt.Sprintf("inputs[%d].%s", i, d.In)
				validationError(w, fmt.Sprintf("inputs[%d]: %s", i, err.Error()), d)
				return
			}
			occs = append(occs, occ)
		}
		for _, o := range occs {
			s.record(o)
		}
		w.WriteHeader(http.StatusNoContent)
	case len(segs) == 1 && segs[0] == "event-definitions" && r.Method == http.MethodGet:
		out := []map[string]any{}
		for _, k := range sortedKeys(s.events) {
			out = append(out, s.events[k].public())
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"results": out, "total": len(out)})
	case len(segs) == 1 && segs[0] == "event-definitions" && r.Method == http.MethodPost:
		s.createDefinition(w, r)
	case len(segs) == 2 && segs[0] == "event-definitions" && r.Method == http.MethodGet:
		for _, d := range s.events {
			if d.Name == segs[1] || d.fqn == segs[1] {
				simkit.WriteJSON(w, http.StatusOK, d.public())
				return
			}
		}
		notFound(w, segs[1])
	default:
		noRoute(w, r)
	}
}

func (d *eventDefinition) public() map[string]any {
	var props []map[string]any
	for _, k := range sortedKeys(d.Properties) {
		props = append(props, map[string]any{"name": k, "label": k, "type": d.Properties[k]})
	}
	return map[string]any{
		"id": d.id, "name": d.Name, "fullyQualifiedName": d.fqn, "labels": map[string]string{"singular": d.Label},
		"primaryObject": "CONTACT", "archived": false, "createdAt": stamp(d.created), "propertyDefinitions": props,
	}
}

func (s *Server) createDefinition(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Label               string `json:"label"`
		Name                string `json:"name"`
		PrimaryObject       string `json:"primaryObject"`
		PropertyDefinitions []struct {
			Name  string `json:"name"`
			Label string `json:"label"`
			Type  string `json:"type"`
		} `json:"propertyDefinitions"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Label == "" {
		validationError(w, "label: must not be empty", errorDetail{Message: "must not be empty", In: "label"})
		return
	}
	name := in.Name
	if name == "" {
		name = strings.Trim(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, strings.ToLower(in.Label)), "_")
	}
	if !eventName.MatchString(name) {
		validationError(w, fmt.Sprintf("name %q must be lower case letters, digits and _", name), errorDetail{Message: "invalid", In: "name"})
		return
	}
	if _, dup := s.events[s.EventName(name)]; dup {
		writeError(w, http.StatusConflict, apiError{Message: fmt.Sprintf("An event definition named %q already exists", name), Category: "CONFLICT"})
		return
	}
	d := EventDefinition{Name: name, Label: in.Label, Properties: map[string]string{}}
	for _, p := range in.PropertyDefinitions {
		switch p.Type {
		case "string", "number", "enumeration", "datetime", "bool":
		default:
			validationError(w, fmt.Sprintf("property %q: type must be string, number, enumeration, datetime or bool", p.Name), errorDetail{Message: "invalid", In: "propertyDefinitions"})
			return
		}
		d.Properties[p.Name] = p.Type
	}
	simkit.WriteJSON(w, http.StatusCreated, s.defineEvent(d).public())
}

type sendRequest struct {
	EventName  string                     `json:"eventName"`
	Email      string                     `json:"email"`
	ObjectID   json.RawMessage            `json:"objectId"`
	UTK        string                     `json:"utk"`
	OccurredAt string                     `json:"occurredAt"`
	UUID       string                     `json:"uuid"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type fieldError struct {
	in, msg string
}

func (e *fieldError) Error() string { return e.msg }

func (e *fieldError) detail() errorDetail { return errorDetail{Message: e.msg, In: e.in} }

// checkOccurrence validates one event send; the caller holds s.mu.
func (s *Server) checkOccurrence(in sendRequest) (Occurrence, *fieldError) {
	def := s.events[in.EventName]
	if in.EventName == "" {
		return Occurrence{}, &fieldError{"eventName", "eventName: must not be empty"}
	}
	if def == nil {
		return Occurrence{}, &fieldError{"eventName", fmt.Sprintf("Event definition %q not found; send the fully qualified name (pe%d_<name>)", in.EventName, s.hubID)}
	}
	objectID, _ := scalar(in.ObjectID)
	if in.Email == "" && objectID == "" && in.UTK == "" {
		return Occurrence{}, &fieldError{"email", "One of email, objectId or utk is required to associate the event with a contact"}
	}
	occ := Occurrence{EventName: in.EventName, UUID: in.UUID, Email: strings.ToLower(in.Email), ObjectID: objectID, UTK: in.UTK,
		OccurredAt: s.now().UTC(), Properties: map[string]string{}}
	if in.Email != "" && !validEmail(in.Email) {
		return Occurrence{}, &fieldError{"email", fmt.Sprintf("Email address %s is invalid", in.Email)}
	}
	contacts := s.types["contacts"]
	switch {
	case objectID != "":
		rec := contacts.byID[objectID]
		if rec == nil || rec.archived {
			return Occurrence{}, &fieldError{"objectId", fmt.Sprintf("objectId %s is not an existing contact", objectID)}
		}
		occ.ContactID = rec.id
	case in.Email != "":
		occ.ContactID = contacts.byKey[occ.Email]
	}
	if in.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.OccurredAt)
		if err != nil {
			return Occurrence{}, &fieldError{"occurredAt", fmt.Sprintf("occurredAt %q is not an ISO 8601 date-time", in.OccurredAt)}
		}
		occ.OccurredAt = t.UTC()
	}
	values, perrs := coerce(in.Properties)
	if len(perrs) > 0 {
		return Occurrence{}, &fieldError{"properties." + perrs[0].Name, perrs[0].Message}
	}
	for _, k := range sortedKeys(values) {
		v := values[k]
		typ, ok := def.Properties[k]
		if !ok && !slices.Contains(defaultEventProperties, k) {
			return Occurrence{}, &fieldError{"properties." + k, fmt.Sprintf("Property %q is not defined on event %s", k, in.EventName)}
		}
		if typ == "number" {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return Occurrence{}, &fieldError{"properties." + k, fmt.Sprintf("%q was not a valid number.", v)}
			}
		}
		occ.Properties[k] = v
	}
	if occ.UUID == "" {
		occ.UUID = newUUID()
	}
	return occ, nil
}

// record keeps an occurrence unless its uuid was already accepted for the event (HubSpot
// keeps the first occurrence of a uuid); the caller holds s.mu.
func (s *Server) record(o Occurrence) {
	def := s.events[o.EventName]
	if def.uuids[o.UUID] {
		return
	}
	def.uuids[o.UUID] = true
	s.occurrences = append(s.occurrences, o)
}
