package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// webhookLifetime is how long a webhook lives before it must be refreshed.
const webhookLifetime = 7 * 24 * time.Hour

type hook struct {
	id              string
	secret          string
	notificationURL string
	scope           string // table id, or "" for the whole base
	includeAll      bool
	includePrevious bool
	spec            json.RawMessage
	expires         time.Time
	payloads        []map[string]any // payload n has cursor n+1
	lastResult      map[string]any
}

type webhookSpec struct {
	Options struct {
		Filters struct {
			DataTypes         []string `json:"dataTypes"`
			RecordChangeScope string   `json:"recordChangeScope,omitempty"`
		} `json:"filters"`
		Includes struct {
			IncludeCellValuesInFieldIDs any  `json:"includeCellValuesInFieldIds,omitempty"`
			IncludePreviousCellValues   bool `json:"includePreviousCellValues,omitempty"`
		} `json:"includes"`
	} `json:"options"`
}

func (s *Server) serveWebhooks(w http.ResponseWriter, r *http.Request, b *base, segs []string) {
	if len(segs) == 0 || segs[0] != "webhooks" {
		notFound(w)
		return
	}
	switch {
	case len(segs) == 1 && r.Method == http.MethodPost:
		s.createWebhook(w, r, b)
	case len(segs) == 1 && r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, h := range b.webhooks {
			list = append(list, s.describe(h))
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"webhooks": list})
	case len(segs) >= 2:
		h := b.webhooks[segs[1]]
		if h == nil {
			notFound(w)
			return
		}
		switch {
		case len(segs) == 2 && r.Method == http.MethodDelete:
			delete(b.webhooks, h.id)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("{}"))
		case len(segs) == 3 && segs[2] == "payloads" && r.Method == http.MethodGet:
			s.payloads(w, r, h)
		case len(segs) == 3 && segs[2] == "refresh" && r.Method == http.MethodPost:
			h.expires = s.now().Add(webhookLifetime)
			simkit.WriteJSON(w, http.StatusOK, map[string]any{"expirationTime": h.expires.UTC().Format("2006-01-02T15:04:05.000Z")})
		default:
			notFound(w)
		}
	default:
		notFound(w)
	}
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, b *base) {
	var body struct {
		NotificationURL string          `json:"notificationUrl"`
		Specification   json.RawMessage `json:"specification"`
	}
	if !decodeStrict(w, r, &body) {
		return
	}
	var spec webhookSpec
	if len(body.Specification) == 0 || json.Unmarshal(body.Specification, &spec) != nil || len(spec.Options.Filters.DataTypes) == 0 {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "specification.options.filters.dataTypes is required")
		return
	}
	for _, dt := range spec.Options.Filters.DataTypes {
		if dt != "tableData" && dt != "tableFields" && dt != "tableMetadata" {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", fmt.Sprintf("Unknown dataType %q", dt))
			return
		}
	}
	if body.NotificationURL != "" {
		u, err := url.Parse(body.NotificationURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "notificationUrl must be an http(s) URL")
			return
		}
	}
	scope := spec.Options.Filters.RecordChangeScope
	if scope != "" {
		found := false
		for _, t := range b.tables {
			found = found || t.id == scope
		}
		if !found {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", fmt.Sprintf("recordChangeScope %q is not a table of this base", scope))
			return
		}
	}
	h := &hook{
		id: "ach" + randomID(), secret: randomSecret(), notificationURL: body.NotificationURL,
		scope: scope, spec: body.Specification, expires: s.now().Add(webhookLifetime),
		includeAll:      spec.Options.Includes.IncludeCellValuesInFieldIDs == "all",
		includePrevious: spec.Options.Includes.IncludePreviousCellValues,
	}
	b.webhooks[h.id] = h
	simkit.WriteJSON(w, http.StatusOK, map[string]any{
		"id": h.id, "macSecretBase64": h.secret, "expirationTime": h.expires.UTC().Format("2006-01-02T15:04:05.000Z"),
	})
}

func (s *Server) describe(h *hook) map[string]any {
	return map[string]any{
		"id": h.id, "notificationUrl": nullable(h.notificationURL), "specification": h.spec,
		"expirationTime": h.expires.UTC().Format("2006-01-02T15:04:05.000Z"), "cursorForNextPayload": len(h.payloads) + 1,
		"areNotificationsEnabled": h.notificationURL != "", "isHookEnabled": true, "lastNotificationResult": h.lastResult,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) payloads(w http.ResponseWriter, r *http.Request, h *hook) {
	q := r.URL.Query()
	cursor, limit := 1, 50
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "cursor must be a positive integer")
			return
		}
		cursor = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "limit must be between 1 and 50")
			return
		}
		limit = n
	}
	out := []map[string]any{}
	next := cursor
	for i := cursor - 1; i >= 0 && i < len(h.payloads) && len(out) < limit; i++ {
		out = append(out, h.payloads[i])
		next = i + 2
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{
		"payloads": out, "cursor": next, "mightHaveMore": next <= len(h.payloads),
		"payloadFormat": "v0",
	})
}

// changed records one base transaction for the webhooks that watch t and pings them; the
// caller holds s.mu.
func (s *Server) changed(baseID string, t *table, created []*record, updated []change, destroyed []string) {
	b := s.bases[baseID]
	if len(b.webhooks) == 0 {
		return
	}
	b.txn++
	now := s.now().UTC().Format("2006-01-02T15:04:05.000Z")
	for _, h := range b.webhooks {
		if h.scope != "" && h.scope != t.id {
			continue
		}
		tc := map[string]any{}
		if len(created) > 0 {
			m := map[string]any{}
			for _, r := range created {
				m[r.id] = map[string]any{"createdTime": r.created.Format("2006-01-02T15:04:05.000Z"), "cellValuesByFieldId": t.byFieldID(r.fields, nil)}
			}
			tc["createdRecordsById"] = m
		}
		if len(updated) > 0 {
			m := map[string]any{}
			for _, c := range updated {
				diff := changedNames(c.previous, c.rec.fields)
				entry := map[string]any{"current": map[string]any{"cellValuesByFieldId": t.byFieldID(c.rec.fields, diff)}}
				if h.includePrevious {
					entry["previous"] = map[string]any{"cellValuesByFieldId": t.byFieldID(c.previous, diff)}
				}
				if h.includeAll {
					var same []string
					for k := range c.rec.fields {
						if !contains(diff, k) {
							same = append(same, k)
						}
					}
					entry["unchanged"] = map[string]any{"cellValuesByFieldId": t.byFieldID(c.rec.fields, same)}
				}
				m[c.rec.id] = entry
			}
			tc["changedRecordsById"] = m
		}
		if len(destroyed) > 0 {
			tc["destroyedRecordIds"] = destroyed
		}
		h.payloads = append(h.payloads, map[string]any{
			"timestamp": now, "baseTransactionNumber": b.txn, "payloadFormat": "v0",
			"actionMetadata": map[string]any{"source": "publicApi", "sourceMetadata": map[string]any{
				"user": map[string]any{"id": "usrAquahubSim0001", "email": "simulator@aquahub.invalid", "permissionLevel": "create"}}},
			"changedTablesById": map[string]any{t.id: tc},
		})
		if s.autoPing && h.notificationURL != "" {
			s.pings.Add(1)
			go func(h *hook) {
				defer s.pings.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err := s.sendPing(ctx, baseID, h)
				s.mu.Lock()
				defer s.mu.Unlock()
				h.lastResult = map[string]any{"success": err == nil, "completionTimestamp": s.now().UTC().Format("2006-01-02T15:04:05.000Z")}
				if err != nil {
					s.pingErrs = append(s.pingErrs, err)
				}
			}(h)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// changedNames lists the fields whose values differ between prev and cur.
func changedNames(prev, cur map[string]any) []string {
	var out []string
	for k, v := range cur {
		pb, _ := json.Marshal(prev[k])
		cb, _ := json.Marshal(v)
		if string(pb) != string(cb) {
			out = append(out, k)
		}
	}
	for k := range prev {
		if _, ok := cur[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// byFieldID keys cell values by field id, keeping only the named fields when only is non-nil.
func (t *table) byFieldID(fields map[string]any, only []string) map[string]any {
	out := map[string]any{}
	for k, v := range fields {
		if only != nil && !contains(only, k) {
			continue
		}
		out[t.addField(k)] = v
	}
	for _, k := range only {
		if _, ok := fields[k]; !ok {
			out[t.addField(k)] = nil
		}
	}
	return out
}

func (s *Server) serveMeta(w http.ResponseWriter, b *base) {
	tables := []map[string]any{}
	for _, t := range b.tables {
		fields := []map[string]any{}
		for _, name := range t.order {
			fields = append(fields, map[string]any{"id": t.fieldIDs[name], "name": name, "type": "singleLineText"})
		}
		views := []map[string]any{}
		for name := range t.views {
			views = append(views, map[string]any{"id": "viw" + derivedID(t.id+"/"+name), "name": name, "type": "grid"})
		}
		primary := ""
		if len(t.order) > 0 {
			primary = t.fieldIDs[t.order[0]]
		}
		tables = append(tables, map[string]any{"id": t.id, "name": t.name, "primaryFieldId": primary, "fields": fields, "views": views})
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"tables": tables})
}

// serveControl serves the Airtable-specific control endpoint
// POST /_sim/webhooks/{baseId}/{webhookId}/ping, which sends a signed notification ping.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, simkit.ControlPrefix), "/")
	if len(parts) != 4 || parts[0] != "webhooks" || parts[3] != "ping" || r.Method != http.MethodPost {
		notFound(w)
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	if err := s.Ping(r.Context(), parts[1], parts[2]); err != nil {
		simkit.WriteJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
