// Command mailchimp is aquahub's Mailchimp connector, a WASI reactor module built with
// sdk/plugin: campaigns.create, campaigns.set_content, campaigns.send, newsletter.send and
// members.upsert against the Marketing API 3.0 (or its simulator in ./sim). See README.md.
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/plugin"
)

// CampaignIn is the input of campaigns.create.
type CampaignIn struct {
	ListID      string `json:"list_id,omitempty" desc:"audience id (default: config list_id)"`
	Type        string `json:"type,omitempty" jsonschema:"enum=regular|plaintext,default=regular"`
	SubjectLine string `json:"subject_line" jsonschema:"minLength=1"`
	PreviewText string `json:"preview_text,omitempty"`
	Title       string `json:"title,omitempty"`
	FromName    string `json:"from_name" jsonschema:"minLength=1"`
	ReplyTo     string `json:"reply_to" jsonschema:"format=email"`
	ToName      string `json:"to_name,omitempty" desc:"merge tag such as *|FNAME|*"`
}

// CampaignOut describes a campaign.
type CampaignOut struct {
	CampaignID string `json:"campaign_id"`
	WebID      int    `json:"web_id,omitempty"`
	Status     string `json:"status"`
	ArchiveURL string `json:"archive_url,omitempty"`
	EmailsSent int    `json:"emails_sent,omitempty"`
}

// ContentIn is the input of campaigns.set_content.
type ContentIn struct {
	CampaignID string `json:"campaign_id" jsonschema:"minLength=1"`
	HTML       string `json:"html,omitempty"`
	PlainText  string `json:"plain_text,omitempty"`
}

// SendIn is the input of campaigns.send.
type SendIn struct {
	CampaignID string `json:"campaign_id" jsonschema:"minLength=1"`
}

// NewsletterIn is the input of newsletter.send: a campaign created, filled and sent in one
// step.
type NewsletterIn struct {
	CampaignIn
	HTML      string `json:"html" jsonschema:"minLength=1"`
	PlainText string `json:"plain_text,omitempty"`
}

// MemberIn is the input of members.upsert.
type MemberIn struct {
	ListID      string         `json:"list_id,omitempty" desc:"audience id (default: config list_id)"`
	Email       string         `json:"email" jsonschema:"format=email"`
	Status      string         `json:"status,omitempty" desc:"set the status of new and existing members" jsonschema:"enum=subscribed|unsubscribed|cleaned|pending|transactional"`
	StatusIfNew string         `json:"status_if_new,omitempty" desc:"status of a new member (default subscribed)" jsonschema:"enum=subscribed|unsubscribed|cleaned|pending|transactional"`
	MergeFields map[string]any `json:"merge_fields,omitempty" desc:"FNAME, LNAME and the audience's other merge fields"`
	Tags        []string       `json:"tags,omitempty"`
}

// MemberOut describes a member.
type MemberOut struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Status string `json:"status"`
}

// Connector is the Mailchimp connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "mailchimp", Version: "1.0.0",
	Description: "Mailchimp Marketing API 3.0: campaigns and audience members.",
	Config: []plugin.ConfigSpec{
		// The host derives dc from the key's public suffix; the connector never sees the key.
		{Name: "dc", Description: "data center (default: the API key's suffix after the last '-', us21 for …-us21)",
			FromSecret: &plugin.SecretDerivation{Secret: "api_key", AfterLast: "-", Pattern: "[a-z]+[0-9]+", Unless: []string{"base_url"}}},
		{Name: "base_url", Description: "API root including /3.0; overrides dc (the simulator's in development)"},
		{Name: "list_id", Description: "default audience id"},
	},
	Secrets: []plugin.SecretSpec{{Name: "api_key", Description: "Marketing API key (…-usNN)", Required: true,
		Places: []plugin.SecretPlace{{Basic: true}}}},
	Egress: []string{"https://*.api.mailchimp.com"},
	Actions: []plugin.Handler{
		plugin.Action[CampaignIn, CampaignOut]{Name: "campaigns.create", Description: "Create a regular campaign for an audience.", Handle: createCampaign},
		plugin.Action[ContentIn, CampaignOut]{Name: "campaigns.set_content", Description: "Set a campaign's HTML (and plain-text) content.", Handle: setContent},
		plugin.Action[SendIn, CampaignOut]{Name: "campaigns.send", Description: "Send a campaign now.", Handle: sendCampaign},
		plugin.Action[NewsletterIn, CampaignOut]{Name: "newsletter.send", Description: "Create, fill and send a campaign; resumable, never two campaigns per step.", Handle: sendNewsletter},
		plugin.Action[MemberIn, MemberOut]{Name: "members.upsert", Description: "Add or update an audience member (subscriber hash of the lowercased email).", Handle: upsertMember},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

var dcPattern = regexp.MustCompile(`^[a-z]+[0-9]+$`)

func baseURL(ctx context.Context) (string, error) {
	if b := plugin.ConfigString(ctx, "base_url", ""); b != "" {
		return strings.TrimRight(b, "/"), nil
	}
	dc := plugin.ConfigString(ctx, "dc", "")
	if dc == "" {
		// The host derives dc from the key's suffix (the manifest's from_secret); a key
		// without one needs the data center set by hand.
		return "", plugin.Permanent(errors.New("mailchimp: the API key has no data center suffix (…-us21): set config.dc to the account's data center, or config.base_url"))
	}
	if !dcPattern.MatchString(dc) {
		return "", plugin.Permanent(fmt.Errorf("mailchimp: config.dc must be a data center such as us21, the API key's suffix after the last '-' (got %q)", dc))
	}
	return "https://" + dc + ".api.mailchimp.com/3.0", nil
}

// problem is Mailchimp's application/problem+json error.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p *problem) Error() string {
	s := fmt.Sprintf("mailchimp: %d %s: %s", p.Status, p.Title, p.Detail)
	for _, e := range p.Errors {
		s += fmt.Sprintf(" (%s: %s)", e.Field, e.Message)
	}
	return s
}

func typed(status int, raw []byte) error {
	p := &problem{Status: status}
	if json.Unmarshal(raw, p) != nil || p.Title == "" {
		p.Title, p.Detail = http.StatusText(status), strings.TrimSpace(string(raw[:min(len(raw), 200)]))
	}
	p.Status = status
	switch {
	case status == http.StatusTooManyRequests:
		return plugin.RateLimited(10*time.Second, p)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return plugin.Auth(p)
	case status == http.StatusNotFound:
		return plugin.NotFound(p)
	case status == http.StatusBadRequest:
		field := ""
		if len(p.Errors) > 0 {
			field = p.Errors[0].Field
		}
		return plugin.InvalidInput(field, p)
	case status == http.StatusRequestTimeout, status >= 500:
		return plugin.Transient(p)
	}
	return plugin.Permanent(p)
}

func do(ctx context.Context, method, path string, in, out any) error {
	base, err := baseURL(ctx)
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return plugin.InvalidInput("", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return plugin.Permanent(err)
	}
	req.Header.Set("Authorization", plugin.BasicAuth("aquahub", "api_key"))
	req.Header.Set("Accept", "application/json, application/problem+json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := plugin.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return plugin.Transient(fmt.Errorf("mailchimp: reading response: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		return typed(resp.StatusCode, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return plugin.Transient(fmt.Errorf("mailchimp: decoding response: %w", err))
		}
	}
	return nil
}

type campaign struct {
	ID         string `json:"id"`
	WebID      int    `json:"web_id"`
	Status     string `json:"status"`
	ArchiveURL string `json:"archive_url"`
	EmailsSent int    `json:"emails_sent"`
	Settings   struct {
		Title string `json:"title"`
	} `json:"settings"`
}

func (c campaign) out() CampaignOut {
	return CampaignOut{CampaignID: c.ID, WebID: c.WebID, Status: c.Status, ArchiveURL: c.ArchiveURL, EmailsSent: c.EmailsSent}
}

func listOf(ctx context.Context, id string) (string, error) {
	if id == "" {
		id = plugin.ConfigString(ctx, "list_id", "")
	}
	if id == "" {
		return "", plugin.InvalidInput("list_id", errors.New("no list_id given and none configured"))
	}
	return id, nil
}

func create(ctx context.Context, in CampaignIn, title string) (campaign, error) {
	list, err := listOf(ctx, in.ListID)
	if err != nil {
		return campaign{}, err
	}
	typ := in.Type
	if typ == "" {
		typ = "regular"
	}
	settings := map[string]any{"subject_line": in.SubjectLine, "title": title, "from_name": in.FromName, "reply_to": in.ReplyTo}
	if in.PreviewText != "" {
		settings["preview_text"] = in.PreviewText
	}
	if in.ToName != "" {
		settings["to_name"] = in.ToName
	}
	var c campaign
	err = do(ctx, http.MethodPost, "/campaigns", map[string]any{"type": typ, "recipients": map[string]any{"list_id": list}, "settings": settings}, &c)
	return c, err
}

func createCampaign(ctx context.Context, in CampaignIn) (CampaignOut, error) {
	c, err := create(ctx, in, in.Title)
	return c.out(), err
}

func setContent(ctx context.Context, in ContentIn) (CampaignOut, error) {
	if in.HTML == "" && in.PlainText == "" {
		return CampaignOut{}, plugin.InvalidInput("html", errors.New("give html or plain_text"))
	}
	body := map[string]any{}
	if in.HTML != "" {
		body["html"] = in.HTML
	}
	if in.PlainText != "" {
		body["plain_text"] = in.PlainText
	}
	if err := do(ctx, http.MethodPut, "/campaigns/"+url.PathEscape(in.CampaignID)+"/content", body, nil); err != nil {
		return CampaignOut{}, err
	}
	return CampaignOut{CampaignID: in.CampaignID, Status: "save"}, nil
}

// sendCampaign sends a campaign; a campaign already sent (an earlier attempt whose answer was
// lost) counts as success.
func sendCampaign(ctx context.Context, in SendIn) (CampaignOut, error) {
	path := "/campaigns/" + url.PathEscape(in.CampaignID)
	err := do(ctx, http.MethodPost, path+"/actions/send", nil, nil)
	var c campaign
	if err != nil {
		var p *problem
		if !errors.As(err, &p) || p.Status != http.StatusBadRequest {
			return CampaignOut{}, err
		}
		if gerr := do(ctx, http.MethodGet, path, nil, &c); gerr != nil || (c.Status != "sent" && c.Status != "sending") {
			return CampaignOut{}, err
		}
		return c.out(), nil
	}
	if err := do(ctx, http.MethodGet, path, nil, &c); err != nil {
		return CampaignOut{CampaignID: in.CampaignID, Status: "sending"}, nil
	}
	return c.out(), nil
}

// newsletterState is newsletter.send's progress, kept in kv under the step's idempotency key.
type newsletterState struct {
	Creating   bool   `json:"creating,omitempty"`
	CampaignID string `json:"campaign_id,omitempty"`
	ContentSet bool   `json:"content_set,omitempty"`
}

// marker tags the campaign title with the step so that a campaign created by an attempt that
// crashed before recording its id is found instead of created again.
func marker(key string) string {
	sum := md5.Sum([]byte(key))
	return "aqh-" + hex.EncodeToString(sum[:4])
}

func sendNewsletter(ctx context.Context, in NewsletterIn) (CampaignOut, error) {
	key := plugin.IdempotencyKey(ctx)
	kvKey := "newsletter/" + key
	var st newsletterState
	if b, ok, err := plugin.KVGet(ctx, kvKey); err != nil {
		return CampaignOut{}, err
	} else if ok {
		_ = json.Unmarshal(b, &st)
	}
	save := func() error {
		b, _ := json.Marshal(st)
		return plugin.KVSet(ctx, kvKey, b)
	}
	title := in.Title
	if title == "" {
		title = in.SubjectLine
	}
	title += " (" + marker(key) + ")"
	if st.CampaignID == "" && st.Creating {
		id, err := findByTitle(ctx, title)
		if err != nil {
			return CampaignOut{}, err
		}
		st.CampaignID = id
	}
	if st.CampaignID == "" {
		st.Creating = true
		if err := save(); err != nil {
			return CampaignOut{}, err
		}
		c, err := create(ctx, in.CampaignIn, title)
		if err != nil {
			return CampaignOut{}, err
		}
		st.CampaignID = c.ID
		if err := save(); err != nil {
			return CampaignOut{}, err
		}
	}
	if !st.ContentSet {
		if _, err := setContent(ctx, ContentIn{CampaignID: st.CampaignID, HTML: in.HTML, PlainText: in.PlainText}); err != nil {
			return CampaignOut{}, err
		}
		st.ContentSet = true
		if err := save(); err != nil {
			return CampaignOut{}, err
		}
	}
	return sendCampaign(ctx, SendIn{CampaignID: st.CampaignID})
}

// findByTitle looks for a campaign of this step among the most recent ones.
func findByTitle(ctx context.Context, title string) (string, error) {
	for offset := 0; offset < 1000; offset += 100 {
		var page struct {
			Campaigns  []campaign `json:"campaigns"`
			TotalItems int        `json:"total_items"`
		}
		q := fmt.Sprintf("/campaigns?count=100&offset=%d&sort_field=create_time&sort_dir=DESC", offset)
		if err := do(ctx, http.MethodGet, q, nil, &page); err != nil {
			return "", err
		}
		for _, c := range page.Campaigns {
			if c.Settings.Title == title {
				return c.ID, nil
			}
		}
		if offset+100 >= page.TotalItems {
			break
		}
	}
	return "", nil
}

// SubscriberHash is the member id Mailchimp uses: the MD5 of the lowercased address.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

func upsertMember(ctx context.Context, in MemberIn) (MemberOut, error) {
	list, err := listOf(ctx, in.ListID)
	if err != nil {
		return MemberOut{}, err
	}
	body := map[string]any{"email_address": in.Email, "status_if_new": in.StatusIfNew}
	if in.StatusIfNew == "" {
		body["status_if_new"] = "subscribed"
	}
	if in.Status != "" {
		body["status"] = in.Status
	}
	if len(in.MergeFields) > 0 {
		body["merge_fields"] = in.MergeFields
	}
	if len(in.Tags) > 0 {
		body["tags"] = in.Tags
	}
	var m struct {
		ID     string `json:"id"`
		Email  string `json:"email_address"`
		Status string `json:"status"`
	}
	path := "/lists/" + url.PathEscape(list) + "/members/" + SubscriberHash(in.Email)
	if err := do(ctx, http.MethodPut, path, body, &m); err != nil {
		return MemberOut{}, err
	}
	return MemberOut{ID: m.ID, Email: m.Email, Status: m.Status}, nil
}
