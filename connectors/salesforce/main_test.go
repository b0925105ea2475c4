//go:build !wasip1

package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/salesforce/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

type env struct {
	sim *sim.Server
	ts  *httptest.Server
	h   *plugintest.Harness
}

// namedQueries are the operator's SOQL templates in the tests' tenant config.
var namedQueries = map[string]any{
	"customer_insights": "SELECT Id, Email, FirstName, LastName, Purchase_History__c, Interaction_Score__c, Preferred_Content_Type__c, Last_Engagement_Date__c FROM Contact WHERE Email = :email",
	"engaged_since":     "SELECT Email FROM Contact WHERE Last_Engagement_Date__c > :since AND (Interaction_Score__c >= :min OR AquaScaping_Interest_Level__c IN :levels) ORDER BY Email",
}

// setup starts a simulator (behind wrap when given) and a harness logging in to it by the
// flow: "jwt" signs with the simulator's key, "password" sends the simulator's secrets.
// secrets replace the defaults.
func setup(t testing.TB, flow string, config map[string]any, secrets map[string]string, wrap func(http.Handler) http.Handler, opts ...sim.Option) env {
	t.Helper()
	s := sim.New(opts...)
	ts := simtest.Serve(t, s, wrap)
	cfg := map[string]any{"login_url": ts.URL, "auth_flow": flow, "client_id": sim.DefaultClientID, "username": sim.DefaultUsername, "queries": namedQueries}
	for k, v := range config {
		cfg[k] = v
	}
	sec := map[string]string{"private_key": string(s.PrivateKeyPEM()), "client_secret": sim.DefaultClientSecret,
		"password": sim.DefaultPassword + sim.DefaultSecurityToken}
	for k, v := range secrets {
		sec[k] = v
	}
	harness := plugintest.Start(t, Connector, plugintest.Options{Config: cfg, Secrets: sec, Egress: []string{ts.URL}, Timeout: 5 * time.Second})
	return env{s, ts, harness}
}

// nextStep forgets the step progress kept in kv (all but the session), so that the next
// invocation is a new step: the harness gives every invocation the same idempotency key.
func nextStep(e env) {
	for k := range e.h.KV() {
		if k != "session" {
			_ = e.h.KVSet(context.Background(), k, nil)
		}
	}
}

func otherKeyPEM(t testing.TB) string {
	t.Helper()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func contact(email string) map[string]any {
	return map[string]any{"object": "Contact", "fields": map[string]any{"LastName": "Reader", "Email": email}}
}

func TestLoginFlows(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		flow     string
		config   map[string]any
		secrets  map[string]string
		wantKind abi.ErrorKind
		wantMsg  string
	}{
		{"jwt", "jwt", nil, nil, "", ""},
		{"password", "password", nil, nil, "", ""},
		{"jwt signed by another key", "jwt", nil, map[string]string{"private_key": otherKeyPEM(t)}, abi.KindAuth, "invalid assertion"},
		{"jwt without a key", "jwt", nil, map[string]string{"private_key": "not a key"}, abi.KindAuth, "bad_key"},
		{"jwt wrong audience", "jwt", map[string]any{"audience": "https://login.salesforce.com"}, nil, abi.KindAuth, "audience is invalid"},
		{"wrong password", "password", nil, map[string]string{"password": sim.DefaultPassword}, abi.KindAuth, "authentication failure"},
		{"unknown consumer", "password", map[string]any{"client_id": "3MVGnope"}, nil, abi.KindAuth, "client identifier invalid"},
		{"bad flow", "oauth", nil, nil, abi.KindPermanent, "auth_flow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, tt.flow, tt.config, tt.secrets, nil)
			out, err := e.h.Invoke(ctx, "sobjects.create", contact("login@example.com"))
			if tt.wantKind != "" {
				ae := plugintest.WantError(t, err, tt.wantKind, "")
				if !strings.Contains(ae.Message, tt.wantMsg) {
					t.Fatalf("message %q, want %q", ae.Message, tt.wantMsg)
				}
				return
			}
			if err != nil || !strings.HasPrefix(fmt.Sprint(out["id"]), "003") {
				t.Fatalf("create: %v, %v", out, err)
			}
			// The session is kept in kv: another call does not log in again, and the
			// secrets went to the host only (query references, never values).
			if _, err := e.h.Invoke(ctx, "sobjects.get", map[string]any{"object": "Contact", "id": out["id"]}); err != nil {
				t.Fatal(err)
			}
			if e.sim.Logins() != 1 {
				t.Fatalf("%d logins", e.sim.Logins())
			}
			if kv := string(e.h.KV()["session"]); !strings.Contains(kv, `"instance_url":"`+e.ts.URL+`"`) {
				t.Fatalf("session kv %s", kv)
			}
		})
	}
}

func TestSessionRefresh(t *testing.T) {
	ctx := context.Background()
	e := setup(t, "jwt", nil, nil, nil)
	if _, err := e.h.Invoke(ctx, "query", map[string]any{"object": "Contact", "fields": []string{"Id"}}); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireSessions()
	out, err := e.h.Invoke(ctx, "query", map[string]any{"object": "Contact", "fields": []string{"Id"}})
	if err != nil || out["count"] != json.Number("3") || e.sim.Logins() != 2 {
		t.Fatalf("after expiry: %v, %v, %d logins", out["count"], err, e.sim.Logins())
	}
	// A token rejected right after a fresh login is an auth failure, not a loop.
	e.sim.Injector().Inject(http.StatusUnauthorized, 3)
	e.sim.ExpireSessions()
	_, err = e.h.Invoke(ctx, "query", map[string]any{"object": "Contact", "fields": []string{"Id"}})
	plugintest.WantError(t, err, abi.KindAuth, "")
}

func TestSObjects(t *testing.T) {
	ctx := context.Background()
	e := setup(t, "jwt", nil, nil, nil)
	out, err := e.h.Invoke(ctx, "sobjects.create", map[string]any{"object": "Contact", "fields": map[string]any{
		"FirstName": "Nia", "LastName": "Koleva", "Email": "nia@example.com", "Interaction_Score__c": 12, "Subscription_Date__c": "2025-08-06T10:00:00Z"}})
	if err != nil {
		t.Fatal(err)
	}
	id := out["id"].(string)
	if li := out["limit_info"].(map[string]any); li["max"] != json.Number("15000") || li["used"] == json.Number("0") {
		t.Fatalf("limit_info %v", li)
	}
	// The same step retried (same idempotency key) does not create a second contact.
	again, err := e.h.Invoke(ctx, "sobjects.create", map[string]any{"object": "Contact", "fields": map[string]any{"LastName": "Koleva", "Email": "nia@example.com"}})
	if err != nil || again["id"] != id || len(e.sim.Find("Contact", "Email", "nia@example.com")) != 1 {
		t.Fatalf("retried create: %v, %v", again, err)
	}
	if _, err := e.h.Invoke(ctx, "sobjects.update", map[string]any{"object": "Contact", "id": id, "fields": map[string]any{"Title": "Scaper", "FirstName": nil}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.h.Invoke(ctx, "sobjects.get", map[string]any{"object": "Contact", "id": id[:15], "fields": []string{"Name", "Title", "Interaction_Score__c"}})
	rec, _ := got["record"].(map[string]any)
	if err != nil || rec["Name"] != "Koleva" || rec["Title"] != "Scaper" || rec["attributes"] != nil {
		t.Fatalf("get: %v, %v", got, err)
	}
	got, err = e.h.Invoke(ctx, "sobjects.get", map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "maria.dimitrova@example.com"})
	if err != nil || got["record"].(map[string]any)["LastName"] != "Dimitrova" {
		t.Fatalf("get by external id: %v, %v", got, err)
	}
	if out, err := e.h.Invoke(ctx, "sobjects.delete", map[string]any{"object": "Contact", "id": id}); err != nil || out["already_deleted"] != nil {
		t.Fatalf("delete: %v, %v", out, err)
	}
	if out, err := e.h.Invoke(ctx, "sobjects.delete", map[string]any{"object": "Contact", "id": id}); err != nil || out["already_deleted"] != true {
		t.Fatalf("delete again: %v, %v", out, err)
	}
	tests := []struct {
		name, action string
		input        map[string]any
		kind         abi.ErrorKind
		field        string
	}{
		{"required field", "sobjects.create", map[string]any{"object": "Lead", "fields": map[string]any{"LastName": "x"}}, abi.KindInvalidInput, "fields.Company"},
		{"the seed's Lead_Source", "sobjects.create", map[string]any{"object": "Contact", "fields": map[string]any{"LastName": "x", "Lead_Source": "AquaScene Newsletter"}}, abi.KindInvalidInput, "fields.Lead_Source"},
		{"validation rule", "sobjects.update", map[string]any{"object": "Contact", "id": firstID(t, e), "fields": map[string]any{"Interaction_Score__c": 140}}, abi.KindInvalidInput, "fields.Interaction_Score__c"},
		{"duplicate", "sobjects.create", map[string]any{"object": "Contact", "fields": map[string]any{"LastName": "x", "Email__c": "ana.petrova@example.com"}}, abi.KindInvalidInput, "fields.Email__c"},
		{"restricted picklist", "sobjects.create", map[string]any{"object": "Contact", "fields": map[string]any{"LastName": "x", "AquaScaping_Interest_Level__c": "guru"}}, abi.KindInvalidInput, "fields.AquaScaping_Interest_Level__c"},
		{"unknown object", "sobjects.create", map[string]any{"object": "Subscriber__c", "fields": map[string]any{"Name": "x"}}, abi.KindInvalidInput, "object"},
		{"missing record", "sobjects.get", map[string]any{"object": "Contact", "id": "003Aq00000zzzzz"}, abi.KindNotFound, ""},
		{"bad id", "sobjects.get", map[string]any{"object": "Contact", "id": "003/../../x"}, abi.KindInvalidInput, "id"},
		{"path value", "sobjects.upsert", map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "..", "fields": map[string]any{}}, abi.KindInvalidInput, "external_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nextStep(e)
			_, err := e.h.Invoke(ctx, tt.action, tt.input)
			plugintest.WantError(t, err, tt.kind, tt.field)
		})
	}
}

func firstID(t testing.TB, e env) string {
	t.Helper()
	recs, _ := e.sim.Records("Contact")
	return recs[0]["Id"].(string)
}

func TestUpsert(t *testing.T) {
	ctx := context.Background()
	e := setup(t, "password", nil, nil, nil)
	in := map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "sub+1@example.com",
		"fields": map[string]any{"LastName": "Subscriber", "Email": "sub+1@example.com", "Email__c": "SUB+1@example.com", "AquaScaping_Interest_Level__c": "beginner"}}
	out, err := e.h.Invoke(ctx, "sobjects.upsert", in)
	if err != nil || out["created"] != true {
		t.Fatalf("insert: %v, %v", out, err)
	}
	id := out["id"]
	in["fields"].(map[string]any)["AquaScaping_Interest_Level__c"] = "intermediate"
	out, err = e.h.Invoke(ctx, "sobjects.upsert", in)
	if err != nil || out["created"] != false || out["id"] != id {
		t.Fatalf("update: %v, %v", out, err)
	}
	if recs := e.sim.Find("Contact", "Email__c", "sub+1@example.com"); len(recs) != 1 || recs[0]["AquaScaping_Interest_Level__c"] != "intermediate" {
		t.Fatalf("stored %v", recs)
	}
	for range 2 {
		nextStep(e)
		if _, err := e.h.Invoke(ctx, "composite.sobjects", map[string]any{"operation": "create", "object": "Contact",
			"records": []any{map[string]any{"LastName": "Twin", "AquaScene_Id__c": "SUB-9"}}}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		input map[string]any
		kind  abi.ErrorKind
		field string
	}{
		{"several matches", map[string]any{"object": "Contact", "external_id_field": "AquaScene_Id__c", "external_id": "SUB-9", "fields": map[string]any{"Title": "x"}}, abi.KindInvalidInput, "external_id"},
		{"not an external id field", map[string]any{"object": "Contact", "external_id_field": "Email", "external_id": "a@example.com", "fields": map[string]any{"LastName": "x"}}, abi.KindInvalidInput, "external_id_field"},
		{"update only, no match", map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "nobody@example.com", "fields": map[string]any{"Title": "x"}, "update_only": true}, abi.KindNotFound, ""},
		{"external id in fields differs", map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "a@example.com", "fields": map[string]any{"Email__c": "b@example.com"}}, abi.KindInvalidInput, "fields.Email__c"},
		{"required field on insert", map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "new@example.com", "fields": map[string]any{"FirstName": "x"}}, abi.KindInvalidInput, "fields.LastName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.h.Invoke(ctx, "sobjects.upsert", tt.input)
			plugintest.WantError(t, err, tt.kind, tt.field)
		})
	}
}

func TestComposite(t *testing.T) {
	ctx := context.Background()
	e := setup(t, "jwt", nil, nil, func(h http.Handler) http.Handler {
		return simtest.FailNth(h, "/composite/sobjects/Contact/Email__c", 2, http.StatusServiceUnavailable)
	})
	var recs []any
	for i := range 450 {
		recs = append(recs, map[string]any{"LastName": fmt.Sprint("Reader ", i), "Email__c": fmt.Sprintf("r%03d@example.com", i)})
	}
	recs[7] = map[string]any{"Email__c": "ana.petrova@example.com", "Interaction_Score__c": 60}
	recs[300] = map[string]any{"Email__c": "bad@example.com", "LastName": "x", "Interaction_Score__c": 150}
	in := map[string]any{"operation": "upsert", "object": "Contact", "external_id_field": "Email__c", "records": recs}
	_, err := e.h.Invoke(ctx, "composite.sobjects", in)
	plugintest.WantError(t, err, abi.KindTransient, "")
	e.sim.ResetRequests()
	out, err := e.h.Invoke(ctx, "composite.sobjects", in)
	if err != nil {
		t.Fatal(err)
	}
	var collections int
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Path, "/composite/") {
			collections++
		}
	}
	if collections != 2 || fmt.Sprintf("%v %v %v", out["requests"], out["succeeded"], out["failed"]) != "2 449 1" {
		t.Fatalf("retry: %d collection requests, output %v %v %v", collections, out["requests"], out["succeeded"], out["failed"])
	}
	results := out["results"].([]any)
	if r7 := results[7].(map[string]any); r7["created"] != false {
		t.Fatalf("results[7] %v", r7)
	}
	if r300 := results[300].(map[string]any); r300["success"] != false || r300["errors"].([]any)[0].(map[string]any)["code"] != "FIELD_CUSTOM_VALIDATION_EXCEPTION" {
		t.Fatalf("results[300] %v", r300)
	}
	if n := len(e.sim.Find("Contact", "LastName", "Reader 449")); n != 1 {
		t.Fatalf("%d copies of the last record", n)
	}
	tests := []struct {
		name  string
		input map[string]any
		field string
	}{
		{"all or none rolls back", map[string]any{"operation": "create", "object": "Lead", "all_or_none": true,
			"records": []any{map[string]any{"LastName": "a", "Company": "b"}, map[string]any{"LastName": "c"}}}, "records[1].Company"},
		{"update needs Id", map[string]any{"operation": "update", "object": "Contact", "records": []any{map[string]any{"Title": "x"}}}, "records[0].Id"},
		{"upsert needs the key", map[string]any{"operation": "upsert", "object": "Contact", "external_id_field": "Email__c", "records": []any{map[string]any{"LastName": "x"}}}, "records[0].Email__c"},
		{"all or none over 200", map[string]any{"operation": "create", "object": "Contact", "all_or_none": true, "records": recs[:201]}, "records"},
		{"every record rejected", map[string]any{"operation": "create", "object": "Contact", "records": []any{map[string]any{"FirstName": "no last name"}}}, "records[0].LastName"},
		{"bad delete id", map[string]any{"operation": "delete", "ids": []any{"003' OR Id != null"}}, "ids[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nextStep(e)
			before, _ := e.sim.Records("Lead")
			_, err := e.h.Invoke(ctx, "composite.sobjects", tt.input)
			plugintest.WantError(t, err, abi.KindInvalidInput, tt.field)
			if after, _ := e.sim.Records("Lead"); len(after) != len(before) {
				t.Fatal("a rolled-back request wrote records")
			}
		})
	}
}

func emailsOf(out map[string]any) string {
	var s []string
	for _, r := range out["records"].([]any) {
		s = append(s, fmt.Sprint(r.(map[string]any)["Email"]))
	}
	return fmt.Sprint(s)
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	e := setup(t, "jwt", nil, nil, nil, sim.WithQueryBatchSize(2))
	q := func(in map[string]any) map[string]any {
		t.Helper()
		out, err := e.h.Invoke(ctx, "query", in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := q(map[string]any{"object": "Contact", "fields": []string{"Id", "Email"}, "order_by": []any{map[string]any{"field": "Email"}}})
	if emailsOf(out) != "[ana.petrova@example.com georgi.ivanov@example.com maria.dimitrova@example.com]" || out["done"] != true || out["total_size"] != json.Number("3") {
		t.Fatalf("every page: %v", out)
	}
	out = q(map[string]any{"object": "Contact", "fields": []string{"Email"}, "order_by": []any{map[string]any{"field": "Email"}}, "max_records": 2})
	next, _ := out["next_records_url"].(string)
	if out["count"] != json.Number("2") || out["done"] != false || next == "" {
		t.Fatalf("stopped early: %v", out)
	}
	if out = q(map[string]any{"next_records_url": next}); emailsOf(out) != "[maria.dimitrova@example.com]" {
		t.Fatalf("continued: %v", out)
	}
	// The seed's customer insights, as a named query whose template the operator wrote.
	out = q(map[string]any{"named": "customer_insights", "binds": map[string]any{"email": "maria.dimitrova@example.com"}})
	rec := out["records"].([]any)[0].(map[string]any)
	if out["count"] != json.Number("1") || rec["Interaction_Score__c"] != json.Number("87") || rec["Purchase_History__c"] != `{"orders":5,"total":612.4}` {
		t.Fatalf("customer insights: %v", out)
	}
	out = q(map[string]any{"named": "engaged_since", "binds": map[string]any{"since": map[string]any{"datetime": "2025-07-01T00:00:00Z"}, "min": 40, "levels": []any{"expert"}}})
	if emailsOf(out) != "[ana.petrova@example.com]" {
		t.Fatalf("engaged since: %v", out)
	}
	out = q(map[string]any{"object": "Contact", "fields": []string{"Email"}, "where": []any{map[string]any{"field": "Email", "op": "contains", "value": "_"}}})
	if out["count"] != json.Number("0") {
		t.Fatalf("contains _ matched as a wildcard: %v", out)
	}
	tests := []struct {
		name  string
		input map[string]any
		field string
	}{
		{"unknown column", map[string]any{"object": "Contact", "fields": []string{"Id", "Shoe_Size__c"}}, "fields[1]"},
		{"value of the wrong type", map[string]any{"object": "Contact", "fields": []string{"Id"}, "where": []any{map[string]any{"field": "CreatedDate", "op": ">", "value": "2025-01-01"}}}, "where[0].value"},
		{"unknown object", map[string]any{"object": "Subscriber", "fields": []string{"Id"}}, "object"},
		{"unknown named query", map[string]any{"named": "everything"}, "named"},
		{"missing bind", map[string]any{"named": "customer_insights"}, "binds.email"},
		{"two modes", map[string]any{"object": "Contact", "fields": []string{"Id"}, "named": "customer_insights"}, "object"},
		{"forged cursor", map[string]any{"next_records_url": "/services/data/v59.0/sobjects/Contact"}, "next_records_url"},
		{"expired cursor", map[string]any{"next_records_url": "/services/data/v59.0/query/01gexpired-2"}, "next_records_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.h.Invoke(ctx, "query", tt.input)
			plugintest.WantError(t, err, abi.KindInvalidInput, tt.field)
		})
	}
}

// Rule data that tries to widen a query returns nothing (it is one literal) or is refused:
// never every contact.
func TestQueryInjectionAttempts(t *testing.T) {
	ctx := context.Background()
	e := setup(t, "jwt", nil, nil, nil)
	payloads := []string{
		`x' OR Email != null OR Email = 'y`,
		`x\' OR Email != null OR Email = \'y`,
		`ana.petrova@example.com' OR LastName != '`,
		`%`,
		`' OR Id != null LIMIT 1 --`,
		"ana.petrova@example.com'\nOR Email != null",
	}
	for _, p := range payloads {
		t.Run(p, func(t *testing.T) {
			for _, in := range []map[string]any{
				{"object": "Contact", "fields": []string{"Email"}, "where": []any{map[string]any{"field": "Email", "op": "=", "value": p}}},
				{"object": "Contact", "fields": []string{"Email"}, "where": []any{map[string]any{"field": "Email", "op": "starts_with", "value": p}}},
				{"object": "Contact", "fields": []string{"Email"}, "where": []any{map[string]any{"field": "LastName", "op": "in", "value": []any{p, "Nobody"}}}},
				{"named": "customer_insights", "binds": map[string]any{"email": p}},
			} {
				out, err := e.h.Invoke(ctx, "query", in)
				if err != nil {
					// Refusing is fine; a query Salesforce could not parse is not.
					plugintest.WantError(t, err, abi.KindInvalidInput, "where[0].value")
					continue
				}
				if out["count"] != json.Number("0") {
					t.Fatalf("%v returned %v records: %s", in, out["count"], out["soql"])
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	list := map[string]any{"object": "Account", "fields": []string{"Name"}}
	tests := []struct {
		name      string
		opts      []sim.Option
		inject    int
		latency   time.Duration
		wantKind  abi.ErrorKind
		wantRetry time.Duration
	}{
		{"daily limit", []sim.Option{sim.WithDailyLimit(0)}, 0, 0, abi.KindRateLimited, time.Hour},
		{"injected limit", nil, 429, 0, abi.KindRateLimited, time.Hour},
		{"5xx", nil, 503, 0, abi.KindTransient, 0},
		{"timeout", nil, 0, 10 * time.Second, abi.KindTransient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, "jwt", nil, nil, nil, tt.opts...)
			if tt.inject != 0 || tt.latency != 0 {
				// Log in first so that the fault meets the API call, not the token request.
				if _, err := e.h.Invoke(ctx, "query", list); err != nil {
					t.Fatal(err)
				}
			}
			if tt.inject != 0 {
				e.sim.Injector().Inject(tt.inject, 1)
			}
			e.sim.Injector().Set(simkit.Faults{Latency: tt.latency})
			cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			_, err := e.h.Invoke(cctx, "query", list)
			if ae := plugintest.WantError(t, err, tt.wantKind, ""); ae.RetryAfter() != tt.wantRetry {
				t.Fatalf("retry after %s, want %s", ae.RetryAfter(), tt.wantRetry)
			}
		})
	}
}
