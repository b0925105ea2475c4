package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

type address struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type personalization struct {
	To                  []address         `json:"to"`
	Cc                  []address         `json:"cc,omitempty"`
	Bcc                 []address         `json:"bcc,omitempty"`
	From                *address          `json:"from,omitempty"`
	Subject             *string           `json:"subject,omitempty"`
	Headers             map[string]string `json:"headers,omitempty"`
	Substitutions       map[string]string `json:"substitutions,omitempty"`
	DynamicTemplateData map[string]any    `json:"dynamic_template_data,omitempty"`
	CustomArgs          map[string]string `json:"custom_args,omitempty"`
	SendAt              *int64            `json:"send_at,omitempty"`
}

func (p personalization) all() []address {
	out := append(append(append([]address(nil), p.To...), p.Cc...), p.Bcc...)
	return out
}

type content struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// mailRequest is the typed body of POST /v3/mail/send; a value of the wrong JSON type fails
// decoding, which SendGrid answers with 400.
type mailRequest struct {
	Personalizations []personalization `json:"personalizations"`
	From             *address          `json:"from"`
	ReplyTo          *address          `json:"reply_to,omitempty"`
	ReplyToList      []address         `json:"reply_to_list,omitempty"`
	Subject          *string           `json:"subject,omitempty"`
	Content          []content         `json:"content,omitempty"`
	Attachments      []struct {
		Content     string `json:"content"`
		Type        string `json:"type,omitempty"`
		Filename    string `json:"filename"`
		Disposition string `json:"disposition,omitempty"`
		ContentID   string `json:"content_id,omitempty"`
	} `json:"attachments,omitempty"`
	TemplateID       string            `json:"template_id,omitempty"`
	Headers          map[string]string `json:"headers,omitempty"`
	Categories       []string          `json:"categories,omitempty"`
	CustomArgs       map[string]string `json:"custom_args,omitempty"`
	SendAt           *int64            `json:"send_at,omitempty"`
	BatchID          string            `json:"batch_id,omitempty"`
	Asm              json.RawMessage   `json:"asm,omitempty"`
	IPPoolName       string            `json:"ip_pool_name,omitempty"`
	MailSettings     json.RawMessage   `json:"mail_settings,omitempty"`
	TrackingSettings json.RawMessage   `json:"tracking_settings,omitempty"`
}

func (m *mailRequest) recipients() []string {
	var out []string
	for _, p := range m.Personalizations {
		for _, a := range p.all() {
			out = append(out, a.Email)
		}
	}
	return out
}

const helpBase = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#"

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>,;") {
		return false
	}
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// validate applies SendGrid's checks of a mail send and returns every failure.
func validate(m *mailRequest, now time.Time) []fieldError {
	var errs []fieldError
	add := func(field, anchor, msg string) {
		errs = append(errs, fieldError{Message: msg, Field: field, Help: helpBase + anchor})
	}
	n := len(m.Personalizations)
	switch {
	case n == 0:
		add("personalizations", "message.personalizations",
			"The personalizations field is required and must have at least one personalization.")
	case n > MaxPersonalizations:
		add("personalizations", "message.personalizations",
			fmt.Sprintf("The personalizations field must have between 1 and %d items.", MaxPersonalizations))
	}
	if m.From == nil || m.From.Email == "" {
		add("from.email", "message.from",
			"The from object must be provided for every email send. It is an object that requires an email parameter, but may also contain a name parameter.")
	} else if !validEmail(m.From.Email) {
		add("from.email", "message.from", "The from email does not contain a valid address.")
	}
	if m.ReplyTo != nil && !validEmail(m.ReplyTo.Email) {
		add("reply_to.email", "message.reply_to", "The reply_to email does not contain a valid address.")
	}
	if m.ReplyTo != nil && len(m.ReplyToList) > 0 {
		add("reply_to", "message.reply_to", "You may not use reply_to and reply_to_list at the same time.")
	}
	total := 0
	everySubject := n > 0
	for i, p := range m.Personalizations {
		if len(p.To) == 0 {
			add(fmt.Sprintf("personalizations.%d.to", i), "message.personalizations.to",
				"The to array is required for all personalization objects, and must have at least one email object with a valid email address.")
		}
		seen := map[string]bool{}
		for kind, list := range map[string][]address{"to": p.To, "cc": p.Cc, "bcc": p.Bcc} {
			for j, a := range list {
				if !validEmail(a.Email) {
					add(fmt.Sprintf("personalizations.%d.%s.%d.email", i, kind, j), "message.personalizations."+kind, "Does not contain a valid address.")
				}
				k := strings.ToLower(a.Email)
				if seen[k] {
					add(fmt.Sprintf("personalizations.%d", i), "message.personalizations",
						"Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of ["+a.Email+"] in the personalizations."+fmt.Sprint(i)+"."+kind+" field.")
				}
				seen[k] = true
				total++
			}
		}
		if p.Subject == nil || *p.Subject == "" {
			everySubject = false
		}
		if p.SendAt != nil {
			errs = append(errs, checkSendAt(fmt.Sprintf("personalizations.%d.send_at", i), *p.SendAt, now)...)
		}
		if size(p.CustomArgs) > 10000 {
			add(fmt.Sprintf("personalizations.%d.custom_args", i), "message.custom_args", "The custom_args may not exceed 10,000 bytes.")
		}
	}
	if total > MaxPersonalizations {
		add("personalizations", "message.personalizations",
			fmt.Sprintf("The total number of recipients (to, cc and bcc) must be %d or fewer.", MaxPersonalizations))
	}
	if m.TemplateID == "" {
		if (m.Subject == nil || *m.Subject == "") && !everySubject {
			add("subject", "message.subject",
				"The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.")
		}
		if len(m.Content) == 0 {
			add("content", "message.content",
				"Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.")
		}
	}
	seenOther, badOrder := false, false
	for i, c := range m.Content {
		if c.Type == "" || c.Value == "" {
			add(fmt.Sprintf("content.%d", i), "message.content", "The content value must be a string at least one character in length.")
		}
		switch c.Type {
		case "text/plain":
			badOrder = badOrder || i > 0
		case "text/html":
			badOrder = badOrder || seenOther
		default:
			seenOther = true
		}
	}
	if badOrder {
		add("content", "message.content", "If present, text/plain must be first, followed by text/html, followed by any other content.")
	}
	if len(m.Categories) > 10 {
		add("categories", "message.categories", "You may not have more than 10 categories per request.")
	}
	for i, c := range m.Categories {
		if len(c) > 255 || c == "" {
			add(fmt.Sprintf("categories.%d", i), "message.categories", "A category must be between 1 and 255 characters.")
		}
	}
	if size(m.CustomArgs) > 10000 {
		add("custom_args", "message.custom_args", "The custom_args may not exceed 10,000 bytes.")
	}
	if m.SendAt != nil {
		errs = append(errs, checkSendAt("send_at", *m.SendAt, now)...)
	}
	for i, a := range m.Attachments {
		if a.Content == "" || a.Filename == "" {
			add(fmt.Sprintf("attachments.%d", i), "message.attachments", "Attachments need content and a filename.")
		}
	}
	return errs
}

func checkSendAt(field string, at int64, now time.Time) []fieldError {
	if time.Unix(at, 0).After(now.Add(72 * time.Hour)) {
		return []fieldError{{Message: "The send_at parameter may not be scheduled more than 72 hours in advance.", Field: field, Help: helpBase + "message.send_at"}}
	}
	return nil
}

func size(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// baseEvent builds the common fields of an Event Webhook event for one recipient of
// personalization i, with the send's custom_args echoed as top-level keys.
func baseEvent(m *mailRequest, i int, msg Message, email, event string, now time.Time) Event {
	ev := Event{}
	for k, v := range m.CustomArgs {
		ev[k] = v
	}
	if i < len(m.Personalizations) {
		for k, v := range m.Personalizations[i].CustomArgs {
			ev[k] = v
		}
	}
	ev["email"] = email
	ev["event"] = event
	ev["timestamp"] = now.Unix()
	ev["sg_event_id"] = messageID()
	ev["sg_message_id"] = fmt.Sprintf("%s.filterdrecv-sim-%d", msg.ID, i)
	ev["smtp-id"] = "<" + msg.ID + "@ismtpd-sim.sendgrid.net>"
	if len(m.Categories) > 0 {
		ev["category"] = m.Categories
	}
	return ev
}

// deliveryEvents are the processed and delivered events of every recipient of a send.
func deliveryEvents(m *mailRequest, msg Message, now time.Time) []Event {
	var out []Event
	for _, event := range []string{"processed", "delivered"} {
		for i, p := range m.Personalizations {
			for _, a := range p.all() {
				ev := baseEvent(m, i, msg, a.Email, event, now)
				if event == "delivered" {
					ev["response"] = "250 OK"
				}
				out = append(out, ev)
			}
		}
	}
	return out
}
