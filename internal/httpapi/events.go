package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/gofiber/fiber/v2"
)

// MaxBatch is the most events one batch request may carry.
const MaxBatch = 1000

const (
	ctStructured = "application/cloudevents+json"
	ctBatch      = "application/cloudevents-batch+json"
)

var eventSchema = map[string]any{
	"type":     "object",
	"required": []string{"id", "source", "type", "specversion"},
	"properties": map[string]any{
		"id": map[string]any{"type": "string"}, "source": map[string]any{"type": "string"},
		"type": map[string]any{"type": "string"}, "specversion": map[string]any{"const": "1.0"},
		"subject": map[string]any{"type": "string"}, "time": map[string]any{"type": "string", "format": "date-time"},
		"datacontenttype": map[string]any{"type": "string"}, "data": map[string]any{},
	},
	"additionalProperties": map[string]any{"type": []string{"string", "number", "boolean"}},
}

func (s *Server) eventRoutes(api fiber.Router) {
	s.Handle(api, "POST", "/events", Op{
		Summary: "Ingest CloudEvents (structured, binary with ce-* headers, or batch)", Tag: "events",
		Permission: PermWriteContent, Request: map[string]any{"oneOf": []any{eventSchema, map[string]any{"type": "array", "items": eventSchema}}},
		RequestTypes: []string{ctStructured, ctBatch, "application/json"},
		Responses:    map[int]string{202: "Accepted durably; body names the stored events and their runs", 400: "Malformed event", 401: "Missing or unknown API key", 413: "Body over the limit", 415: "Unsupported content type"},
	}, s.postEvents)
	s.Handle(api, "GET", "/events/:id", Op{
		Summary: "Fetch an event by its CloudEvents id", Tag: "events", Permission: PermReadContent,
		Query: map[string]string{"source": "pick the event of this source when several sources used the id"},
	}, s.getEvent)
}

// eventView is an event as the API shows it: the CloudEvent and the hub's attributes.
type eventView struct {
	Event      json.RawMessage `json:"event"`
	Seq        uint64          `json:"seq"`
	ReceivedAt time.Time       `json:"received_at"`
	Runs       []string        `json:"runs,omitempty"`
}

func (s *Server) postEvents(c *fiber.Ctx) error {
	events, batch, err := decodeEvents(c)
	if err != nil {
		return err
	}
	key := c.Get("Idempotency-Key")
	if len(key) > 255 {
		return &Problem{Status: 400, Detail: "Idempotency-Key is longer than 255 characters", Errors: []ProblemField{{Field: "Idempotency-Key", Message: "too long"}}}
	}
	res, err := s.opts.Engine.Ingest(c.UserContext(), Tenant(c), key, events)
	if err != nil {
		return err
	}
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Status(fiber.StatusAccepted)
	if batch {
		return c.JSON(fiber.Map{"events": res.Events})
	}
	return c.JSON(res.Events[0])
}

func decodeEvents(c *fiber.Ctx) ([]core.Event, bool, error) {
	body := c.Body()
	ctype := c.Get(fiber.HeaderContentType)
	mt, _, _ := mime.ParseMediaType(ctype)
	if c.Get("ce-specversion") != "" && mt != ctStructured && mt != ctBatch {
		ev, err := decodeBinary(c, mt, body)
		return []core.Event{ev}, false, err
	}
	switch mt {
	case ctStructured, "application/json":
		ev, err := core.DecodeEvent(body)
		if err != nil {
			return nil, false, err
		}
		return []core.Event{ev}, false, nil
	case ctBatch:
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] != '[' {
			return nil, true, core.Invalid("", "a batch must be a JSON array of events")
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, true, core.Invalid("", "malformed JSON: %v", err)
		}
		if len(raws) == 0 {
			return nil, true, core.Invalid("", "empty batch")
		}
		if len(raws) > MaxBatch {
			return nil, true, core.Invalid("", "batch of %d events is over the limit of %d", len(raws), MaxBatch)
		}
		events := make([]core.Event, len(raws))
		for i, raw := range raws {
			ev, err := core.DecodeEvent(raw)
			if err != nil {
				if fe, ok := err.(*core.FieldError); ok {
					p := fmt.Sprintf("[%d]", i)
					if fe.Path != "" {
						p += "." + fe.Path
					}
					return nil, true, &core.FieldError{Path: p, Reason: fe.Reason}
				}
				return nil, true, err
			}
			events[i] = ev
		}
		return events, true, nil
	}
	if mt == "" {
		mt = "none"
	}
	return nil, false, &Problem{Status: 415, Detail: fmt.Sprintf("content type %s is not accepted: send %s, %s, or binary mode with ce-* headers", mt, ctStructured, ctBatch),
		Extra: map[string]any{"accepted": []string{ctStructured, ctBatch, "application/json", "any type with ce-specversion (binary mode)"}}}
}

// decodeBinary reads a binary-mode CloudEvent: attributes in ce-* headers, data in the body.
func decodeBinary(c *fiber.Ctx, mt string, body []byte) (core.Event, error) {
	obj := map[string]any{}
	var bad error
	c.Request().Header.VisitAll(func(k, v []byte) {
		name := strings.ToLower(string(k))
		if !strings.HasPrefix(name, "ce-") {
			return
		}
		attr := strings.TrimPrefix(name, "ce-")
		if attr == "data" || attr == "data_base64" || attr == "datacontenttype" {
			bad = core.Invalid("ce-"+attr, "not allowed as a header in binary mode")
			return
		}
		obj[attr] = string(v)
	})
	if bad != nil {
		return core.Event{}, bad
	}
	if ct := c.Get(fiber.HeaderContentType); ct != "" {
		obj["datacontenttype"] = ct
	}
	if len(body) > 0 {
		if mt == "application/json" || strings.HasSuffix(mt, "+json") {
			if !json.Valid(body) {
				return core.Event{}, core.Invalid("data", "body is not valid JSON although Content-Type is %s", mt)
			}
			obj["data"] = json.RawMessage(body)
		} else {
			obj["data_base64"] = body
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return core.Event{}, err
	}
	return core.DecodeEvent(raw)
}

func (s *Server) getEvent(c *fiber.Ctx) error {
	events, err := s.opts.Engine.Store().Events(c.UserContext(), Tenant(c), c.Params("id"), c.Query("source"))
	if err != nil {
		return err
	}
	if len(events) > 1 {
		var sources []string
		for _, e := range events {
			sources = append(sources, e.Source)
		}
		return &Problem{Status: 409, Detail: fmt.Sprintf("%d sources used id %q; add ?source= to pick one", len(events), c.Params("id")), Extra: map[string]any{"sources": sources}}
	}
	ev := events[0]
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	runs, err := s.opts.Engine.Store().Runs(c.UserContext(), Tenant(c), core.RunFilter{EventID: ev.ID, Limit: 1000})
	if err != nil {
		return err
	}
	view := eventView{Event: body, Seq: ev.Seq, ReceivedAt: ev.ReceivedAt}
	for _, r := range runs {
		if r.EventSeq == ev.Seq {
			view.Runs = append(view.Runs, r.ID)
		}
	}
	return c.JSON(view)
}
