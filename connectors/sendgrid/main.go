// Command sendgrid is aquahub's SendGrid connector, a WASI reactor module built with
// sdk/plugin: mail.send against SendGrid's v3 API (or its simulator in ./sim). See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	defaultBaseURL = "https://api.sendgrid.com"
	// maxPerRequest is SendGrid's limit of personalizations, and of recipients, per request.
	maxPerRequest = 1000
)

// Address is an email address with an optional display name.
type Address struct {
	Email string `json:"email" jsonschema:"format=email"`
	Name  string `json:"name,omitempty"`
}

// Personalization is one envelope of a send, as SendGrid defines it.
type Personalization struct {
	To                  []Address         `json:"to" jsonschema:"minItems=1"`
	Cc                  []Address         `json:"cc,omitempty"`
	Bcc                 []Address         `json:"bcc,omitempty"`
	Subject             string            `json:"subject,omitempty"`
	CustomArgs          map[string]string `json:"custom_args,omitempty"`
	DynamicTemplateData map[string]any    `json:"dynamic_template_data,omitempty"`
	SendAt              int64             `json:"send_at,omitempty"`
}

// SendIn is the input of mail.send.
type SendIn struct {
	From    Address   `json:"from"`
	ReplyTo *Address  `json:"reply_to,omitempty"`
	To      []Address `json:"to,omitempty" desc:"recipients; each gets their own envelope unless shared_envelope is set"`
	// SharedEnvelope puts all of To in one personalization (everyone sees everyone).
	SharedEnvelope   bool              `json:"shared_envelope,omitempty"`
	Personalizations []Personalization `json:"personalizations,omitempty" desc:"full control over envelopes; used instead of to"`
	Subject          string            `json:"subject,omitempty"`
	Text             string            `json:"text,omitempty" desc:"text/plain body"`
	HTML             string            `json:"html,omitempty" desc:"text/html body"`
	TemplateID       string            `json:"template_id,omitempty"`
	CustomArgs       map[string]string `json:"custom_args,omitempty" desc:"echoed in Event Webhook events"`
	Categories       []string          `json:"categories,omitempty" jsonschema:"maxItems=10"`
	SendAt           int64             `json:"send_at,omitempty" desc:"Unix time to send at (at most 72 h ahead)"`
	BatchID          string            `json:"batch_id,omitempty"`
}

// SendOut is the output of mail.send.
type SendOut struct {
	// MessageIDs are the X-Message-Id of each request, in order.
	MessageIDs []string `json:"message_ids"`
	// MessageID is the first of them.
	MessageID  string `json:"message_id"`
	Requests   int    `json:"requests"`
	Recipients int    `json:"recipients"`
}

// Connector is the SendGrid connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "sendgrid", Version: "1.0.0",
	Description: "SendGrid v3 mail send, split into requests of at most 1,000 recipients.",
	Config:      []plugin.ConfigSpec{{Name: "base_url", Description: "API origin (the simulator's in development; https://api.eu.sendgrid.com for EU subusers)", Default: defaultBaseURL}},
	Secrets: []plugin.SecretSpec{{Name: "api_key", Description: "API key (SG.…) with mail send permission", Required: true,
		Places: []plugin.SecretPlace{{Header: "Authorization"}}}},
	Egress: []string{defaultBaseURL, "https://api.eu.sendgrid.com"},
	Actions: []plugin.Handler{
		plugin.Action[SendIn, SendOut]{Name: "mail.send", Description: "Send one message to any number of recipients.", Handle: send},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

type content struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// mailBody is the JSON of POST /v3/mail/send.
type mailBody struct {
	Personalizations []Personalization `json:"personalizations"`
	From             Address           `json:"from"`
	ReplyTo          *Address          `json:"reply_to,omitempty"`
	Subject          string            `json:"subject,omitempty"`
	Content          []content         `json:"content,omitempty"`
	TemplateID       string            `json:"template_id,omitempty"`
	CustomArgs       map[string]string `json:"custom_args,omitempty"`
	Categories       []string          `json:"categories,omitempty"`
	SendAt           int64             `json:"send_at,omitempty"`
	BatchID          string            `json:"batch_id,omitempty"`
}

func recipients(p Personalization) int { return len(p.To) + len(p.Cc) + len(p.Bcc) }

// envelopes builds the personalizations of a send.
func envelopes(in SendIn) ([]Personalization, error) {
	if len(in.Personalizations) > 0 {
		if len(in.To) > 0 {
			return nil, plugin.InvalidInput("to", errors.New("give to or personalizations, not both"))
		}
		for i, p := range in.Personalizations {
			if recipients(p) > maxPerRequest {
				return nil, plugin.InvalidInput(fmt.Sprintf("personalizations[%d]", i), fmt.Errorf("at most %d recipients per personalization", maxPerRequest))
			}
		}
		return in.Personalizations, nil
	}
	if len(in.To) == 0 {
		return nil, plugin.InvalidInput("to", errors.New("no recipients"))
	}
	if in.SharedEnvelope {
		var out []Personalization
		for start := 0; start < len(in.To); start += maxPerRequest {
			out = append(out, Personalization{To: in.To[start:min(start+maxPerRequest, len(in.To))]})
		}
		return out, nil
	}
	out := make([]Personalization, len(in.To))
	for i, a := range in.To {
		out[i] = Personalization{To: []Address{a}}
	}
	return out, nil
}

// batches groups personalizations into requests of at most 1,000 personalizations and 1,000
// recipients.
func batches(ps []Personalization) [][]Personalization {
	var out [][]Personalization
	var cur []Personalization
	n := 0
	for _, p := range ps {
		r := recipients(p)
		if len(cur) > 0 && (len(cur) == maxPerRequest || n+r > maxPerRequest) {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, p)
		n += r
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func send(ctx context.Context, in SendIn) (SendOut, error) {
	if in.TemplateID == "" && in.Text == "" && in.HTML == "" {
		return SendOut{}, plugin.InvalidInput("html", errors.New("give text, html or template_id"))
	}
	ps, err := envelopes(in)
	if err != nil {
		return SendOut{}, err
	}
	if in.Subject == "" && in.TemplateID == "" {
		for i, p := range ps {
			if p.Subject == "" {
				return SendOut{}, plugin.InvalidInput("subject", fmt.Errorf("no subject for personalizations[%d]", i))
			}
		}
	}
	body := mailBody{From: in.From, ReplyTo: in.ReplyTo, Subject: in.Subject, TemplateID: in.TemplateID,
		CustomArgs: in.CustomArgs, Categories: in.Categories, SendAt: in.SendAt, BatchID: in.BatchID}
	// SendGrid wants text/plain first, then text/html.
	if in.Text != "" {
		body.Content = append(body.Content, content{"text/plain", in.Text})
	}
	if in.HTML != "" {
		body.Content = append(body.Content, content{"text/html", in.HTML})
	}
	base := strings.TrimRight(plugin.ConfigString(ctx, "base_url", defaultBaseURL), "/")
	key := plugin.IdempotencyKey(ctx)
	out := SendOut{MessageIDs: []string{}}
	for i, batch := range batches(ps) {
		for _, p := range batch {
			out.Recipients += recipients(p)
		}
		out.Requests++
		// A request accepted by an earlier attempt of this step is never sent again.
		kvKey := fmt.Sprintf("send/%s/%d", key, i)
		if key != "" {
			if id, ok, err := plugin.KVGet(ctx, kvKey); err != nil {
				return SendOut{}, err
			} else if ok {
				out.MessageIDs = append(out.MessageIDs, string(id))
				continue
			}
		}
		body.Personalizations = batch
		id, err := post(ctx, base, body)
		if err != nil {
			return SendOut{}, fmt.Errorf("request %d of the send: %w", i+1, err)
		}
		if key != "" {
			if err := plugin.KVSet(ctx, kvKey, []byte(id)); err != nil {
				return SendOut{}, err
			}
		}
		out.MessageIDs = append(out.MessageIDs, id)
	}
	out.MessageID = out.MessageIDs[0]
	return out, nil
}

// post sends one request and returns its X-Message-Id. The request goes to the host as the
// ABI's request (plugin.Do), without an http.Request and http.Response around it, which
// cost the wasm guest more than the rest of the call.
func post(ctx context.Context, base string, body mailBody) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", plugin.InvalidInput("", err)
	}
	resp, err := plugin.Do(ctx, &abi.HTTPRequest{Method: http.MethodPost, URL: base + "/v3/mail/send", Body: b,
		Headers: map[string][]string{"Authorization": {"Bearer " + plugin.Secret("api_key")}, "Content-Type": {"application/json"}}})
	if err != nil {
		return "", err
	}
	header := http.Header(resp.Headers)
	if resp.Status/100 == 2 {
		return header.Get("X-Message-Id"), nil
	}
	return "", typed(ctx, resp.Status, header, resp.Body)
}

// apiError is SendGrid's error body.
type apiError struct {
	Status int
	Errors []struct {
		Message string `json:"message"`
		Field   any    `json:"field"`
	} `json:"errors"`
}

func (e *apiError) Error() string {
	var parts []string
	for _, x := range e.Errors {
		if f, ok := x.Field.(string); ok && f != "" && f != "null" {
			parts = append(parts, f+": "+x.Message)
		} else {
			parts = append(parts, x.Message)
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("sendgrid: %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("sendgrid: %d: %s", e.Status, strings.Join(parts, "; "))
}

// inputField maps a SendGrid error field onto the action's input.
func inputField(f string) string {
	switch {
	case strings.HasPrefix(f, "personalizations"):
		return "to"
	case strings.HasPrefix(f, "from"):
		return "from"
	case strings.HasPrefix(f, "reply_to"):
		return "reply_to"
	case f == "content":
		return "html"
	case f == "subject", f == "categories", f == "custom_args", f == "send_at", f == "template_id":
		return f
	}
	return ""
}

func typed(ctx context.Context, status int, header http.Header, raw []byte) error {
	e := &apiError{Status: status}
	_ = json.Unmarshal(raw, e)
	switch {
	case status == http.StatusTooManyRequests:
		wait := time.Second
		if reset, err := strconv.ParseInt(header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			if d := time.Unix(reset, 0).Sub(plugin.Now(ctx)); d > 0 {
				wait = d
			}
		}
		return plugin.RateLimited(wait, e)
	case status == http.StatusBadRequest:
		field := ""
		if len(e.Errors) > 0 {
			f, _ := e.Errors[0].Field.(string)
			field = inputField(f)
		}
		return plugin.InvalidInput(field, e)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return plugin.Auth(e)
	case status == http.StatusNotFound:
		return plugin.NotFound(e)
	case status == http.StatusRequestTimeout, status >= 500:
		return plugin.Transient(e)
	}
	return plugin.Permanent(e)
}
