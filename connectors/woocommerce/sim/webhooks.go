package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/sdk/signature"
)

// Webhook is a store webhook as an admin configures it.
type Webhook struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Topic       string `json:"topic"`
	DeliveryURL string `json:"delivery_url"`
	Secret      string `json:"-"`
}

type storeHook struct {
	Webhook
	created, modified time.Time
	failures          int
	// pendingPing is set until a ping is answered 200: WooCommerce pings again when the
	// webhook is next saved active.
	pendingPing bool
}

// Delivery is one webhook delivery the simulator made, or a ping.
type Delivery struct {
	// Ping marks the unsigned ping sent when the webhook was created or saved active with
	// its first ping still unanswered; it has no delivery id and no signature.
	Ping       bool            `json:"ping,omitempty"`
	WebhookID  int             `json:"webhook_id"`
	DeliveryID int             `json:"delivery_id"`
	Topic      string          `json:"topic"`
	URL        string          `json:"url"`
	Status     int             `json:"status"`
	Error      string          `json:"error,omitempty"`
	Body       json.RawMessage `json:"body"`
	Header     http.Header     `json:"header"`
}

var (
	webhookResources = []string{"product", "order", "customer", "coupon"}
	webhookEvents    = []string{"created", "updated", "deleted", "restored"}
	webhookStatuses  = []string{"active", "paused", "disabled"}
)

// UserAgent is what WooCommerce's webhook deliveries identify as.
const UserAgent = "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"

func validTopic(t string) bool {
	res, ev, ok := strings.Cut(t, ".")
	if res == "action" {
		return ok && ev != ""
	}
	return ok && slices.Contains(webhookResources, res) && slices.Contains(webhookEvents, ev)
}

func randomSecret() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// addWebhook stores w with a new id; the caller holds s.mu or is New.
func (s *Server) addWebhook(w Webhook) *storeHook {
	w.ID = s.nextHook
	s.nextHook++
	if w.Secret == "" {
		w.Secret = randomSecret()
	}
	if w.Status == "" {
		w.Status = "active"
	}
	now := s.now().UTC()
	h := &storeHook{Webhook: w, created: now, modified: now}
	s.webhooks[w.ID] = h
	return h
}

// Webhooks returns the store's webhooks with their current status.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for id := 1; id < s.nextHook; id++ {
		if h, ok := s.webhooks[id]; ok {
			out = append(out, h.Webhook)
		}
	}
	return out
}

// Deliveries returns the webhook deliveries made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery{}, s.delivered...)
}

func (h *storeHook) render(base string) map[string]any {
	res, ev, _ := strings.Cut(h.Topic, ".")
	return map[string]any{
		"id": h.ID, "name": h.Name, "status": h.Status, "topic": h.Topic, "resource": res, "event": ev,
		"hooks": []string{"woocommerce_" + res + "_" + ev}, "delivery_url": h.DeliveryURL,
		"date_created": wpTime(h.created), "date_created_gmt": wpTime(h.created),
		"date_modified": wpTime(h.modified), "date_modified_gmt": wpTime(h.modified),
		"_links": map[string]any{"self": []map[string]string{{"href": base + APIPath + "/webhooks/" + itoa(h.ID)}}},
	}
}

// fire delivers payload to every active webhook of topic, asynchronously, as WooCommerce's
// action scheduler does.
func (s *Server) fire(topic string, payload map[string]any, base string) {
	s.mu.Lock()
	var hooks []Webhook
	for id := 1; id < s.nextHook; id++ {
		if h, ok := s.webhooks[id]; ok && h.Status == "active" && h.Topic == topic {
			hooks = append(hooks, h.Webhook)
		}
	}
	s.mu.Unlock()
	if len(hooks) == 0 {
		return
	}
	body, _ := json.Marshal(payload)
	if s.siteURL != "" {
		base = s.siteURL
	}
	for _, h := range hooks {
		s.deliveries.Add(1)
		go func() {
			defer s.deliveries.Done()
			s.deliver(h, topic, body, base)
		}()
	}
}

func (s *Server) deliver(h Webhook, topic string, body []byte, base string) {
	s.mu.Lock()
	s.nextDeliv++
	deliveryID := s.nextDeliv
	s.mu.Unlock()
	res, ev, _ := strings.Cut(topic, ".")
	d := Delivery{WebhookID: h.ID, DeliveryID: deliveryID, Topic: topic, URL: h.DeliveryURL, Body: body, Header: http.Header{}}
	d.Header.Set("Content-Type", "application/json")
	d.Header.Set("User-Agent", UserAgent)
	signature.WooCommerceDelivery{Topic: topic, Resource: res, Event: ev, WebhookID: itoa(h.ID), DeliveryID: itoa(deliveryID),
		Source: base + "/", Signature: signature.SignWooCommerce(h.Secret, body)}.Header(d.Header)
	err := s.post(&d, body)
	if err == nil && d.Status/100 != 2 {
		err = fmt.Errorf("status %d", d.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.webhooks[h.ID]
	if err != nil {
		d.Error = err.Error()
		if stored != nil {
			stored.failures++
			if stored.failures >= MaxDeliveryFailures {
				stored.Status = "disabled"
			}
		}
	} else if stored != nil {
		stored.failures = 0
	}
	s.delivered = append(s.delivered, d)
}

// post sends body to d.URL with d's headers, within the delivery timeout, and records the
// answer's status in d; the answer's body is read (up to 64 KiB) and dropped.
func (s *Server) post(d *Delivery, body []byte) error {
	ctx, cancel := deliverCtx()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = d.Header.Clone()
	resp, err := s.hookClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	return nil
}

// ping posts WooCommerce's webhook ping to h's delivery URL and records it: the body
// webhook_id=<id>, form-encoded, with the Hookshot user agent and no signature or delivery
// headers. Like WooCommerce, the caller waits for it, and only a 200 answer counts; until
// one arrives the webhook stays pending and is pinged again when next saved active.
func (s *Server) ping(h Webhook) {
	body := signature.WooCommercePingBody(h.ID)
	d := Delivery{Ping: true, WebhookID: h.ID, Topic: h.Topic, URL: h.DeliveryURL, Body: json.RawMessage(strconv.Quote(string(body))), Header: http.Header{}}
	d.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	d.Header.Set("User-Agent", UserAgent)
	err := s.post(&d, body)
	if err == nil && d.Status != http.StatusOK {
		//lint:ignore ST1005 WooCommerce's own wording, which the simulator reproduces
		err = fmt.Errorf("Error: Delivery URL returned response code: %d", d.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		d.Error = err.Error()
	} else if stored := s.webhooks[h.ID]; stored != nil {
		stored.pendingPing = false
	}
	s.delivered = append(s.delivered, d)
}

// checkWebhook fills h from a webhook body and reports WooCommerce's error code and message
// for its first problem, or "" when it is valid.
func checkWebhook(h *Webhook, body map[string]json.RawMessage, creating bool) (string, string) {
	str := func(name string, dst *string) bool {
		raw, ok := body[name]
		if !ok {
			return true
		}
		v, ok := asString(raw)
		if ok {
			*dst = v
		}
		return ok
	}
	if !str("name", &h.Name) || !str("secret", &h.Secret) {
		return "rest_invalid_param", "Invalid parameter(s): name, secret"
	}
	if !str("status", &h.Status) || h.Status != "" && !slices.Contains(webhookStatuses, h.Status) {
		return "rest_invalid_param", "Invalid parameter(s): status"
	}
	_, hasTopic := body["topic"]
	if !str("topic", &h.Topic) || (creating || hasTopic) && !validTopic(strings.ToLower(h.Topic)) {
		return "woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid."
	}
	h.Topic = strings.ToLower(h.Topic)
	_, hasURL := body["delivery_url"]
	if !str("delivery_url", &h.DeliveryURL) || (creating || hasURL) && !validURL(h.DeliveryURL) {
		return "woocommerce_rest_webhook_invalid_delivery_url", "Webhook delivery URL must be a valid URL starting with http:// or https://."
	}
	return "", ""
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (s *Server) serveWebhooks(rt *route) {
	segs, r, w := rt.segs, rt.r, rt.w
	if rt.perm != ReadWrite {
		writeError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		return
	}
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		s.mu.Lock()
		out := []map[string]any{}
		for id := 1; id < s.nextHook; id++ {
			if h, ok := s.webhooks[id]; ok {
				out = append(out, h.render(rt.base))
			}
		}
		s.mu.Unlock()
		setPaging(w, r, rt.base, len(out), 1, min(len(out), 1))
		simkit.WriteJSON(w, http.StatusOK, out)
	case len(segs) == 1 && r.Method == http.MethodPost:
		body, ok := decodeJSON(w, r)
		if !ok {
			return
		}
		var h Webhook
		if code, msg := checkWebhook(&h, body, true); code != "" {
			writeError(w, http.StatusBadRequest, code, msg)
			return
		}
		s.mu.Lock()
		added := s.addWebhook(h)
		added.pendingPing = true
		out, hook := added.render(rt.base), added.Webhook
		s.mu.Unlock()
		if hook.Status == "active" {
			s.ping(hook) // WooCommerce pings inside the create request and answers 201 whatever the ping's outcome
		}
		simkit.WriteJSON(w, http.StatusCreated, out)
	case len(segs) == 2:
		rt.withID(s.serveWebhook)
	default:
		noRoute(w)
	}
}

func (s *Server) serveWebhook(rt *route, id int) {
	r, w := rt.r, rt.w
	var body map[string]json.RawMessage
	if r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost {
		var ok bool
		if body, ok = decodeJSON(w, r); !ok {
			return
		}
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost {
		out, ping, ok := s.updateWebhook(rt, id, body)
		if !ok {
			return
		}
		if ping != nil {
			s.ping(*ping) // before answering, as WooCommerce does
		}
		simkit.WriteJSON(w, http.StatusOK, out)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.webhooks[id]
	if !ok {
		writeError(w, http.StatusNotFound, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, h.render(rt.base))
	case http.MethodDelete:
		if f := r.URL.Query().Get("force"); f != "true" && f != "1" {
			writeError(w, http.StatusNotImplemented, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
			return
		}
		out := h.render(rt.base)
		delete(s.webhooks, id)
		simkit.WriteJSON(w, http.StatusOK, out)
	default:
		noRoute(w)
	}
}

// updateWebhook applies an update and returns the webhook as rendered and, when saving it
// active must ping it (its delivery URL changed or its first ping is still unanswered, as
// WooCommerce's webhook store decides), the webhook to ping. It writes the error answers.
func (s *Server) updateWebhook(rt *route, id int, body map[string]json.RawMessage) (map[string]any, *Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.webhooks[id]
	if !ok {
		writeError(rt.w, http.StatusNotFound, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
		return nil, nil, false
	}
	next := h.Webhook
	if code, msg := checkWebhook(&next, body, false); code != "" {
		writeError(rt.w, http.StatusBadRequest, code, msg)
		return nil, nil, false
	}
	if next.Status == "active" && h.Status != "active" {
		h.failures = 0
	}
	var ping *Webhook
	if next.Status == "active" && (next.DeliveryURL != h.DeliveryURL || h.pendingPing) {
		h.pendingPing = true
		ping = &next
	}
	h.Webhook, h.modified = next, s.now().UTC()
	return h.render(rt.base), ping, true
}
