package sim

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

// TestOfficialNodeClient runs HubSpot's own Node client (@hubspot/api-client, pinned in
// testdata/node) against the simulator: reading by email, a 404, a batch upsert with a
// partial failure (207), paged search through the client's retry of a secondly 429, its
// retry of a 502, an event send, a default association and a bad token.
func TestOfficialNodeClient(t *testing.T) {
	modules := simtest.NodeModules(t, "testdata/node")
	s := New(WithRateLimits(0, 0, 1))
	ts := httptest.NewServer(s)
	defer ts.Close()
	raw := simtest.RunNode(t, modules, "testdata/node/client.cjs",
		"HUBSPOT_BASE="+ts.URL, "HUBSPOT_TOKEN="+DefaultKey, "HUBSPOT_EVENT="+s.EventName("content_engagement"))
	var out struct {
		Get struct {
			ID              string            `json:"id"`
			Properties      map[string]string `json:"properties"`
			CreatedAtIsDate bool              `json:"createdAtIsDate"`
		} `json:"get"`
		Missing failure `json:"missing"`
		Upsert  struct {
			Status  string `json:"status"`
			Results []struct {
				Email string `json:"email"`
				IsNew bool   `json:"isNew"`
			} `json:"results"`
			NumErrors int      `json:"numErrors"`
			ErrorIDs  []string `json:"errorIds"`
		} `json:"upsert"`
		Search         []string `json:"search"`
		SearchTotal    int      `json:"searchTotal"`
		PageAfterRetry struct {
			Count int  `json:"count"`
			Next  bool `json:"next"`
		} `json:"pageAfterRetry"`
		BadEvent    failure `json:"badEvent"`
		Association struct {
			Status  string `json:"status"`
			TypeIDs []int  `json:"typeIds"`
		} `json:"association"`
		BadToken failure `json:"badToken"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("client output %s: %v", raw, err)
	}
	ana, _ := s.Contact("ana.petrova@example.com")
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"get by email", out.Get.ID == ana.ID && out.Get.Properties["aquascaping_experience"] == "beginner" && out.Get.CreatedAtIsDate, out.Get},
		{"404", out.Missing.Code == 404 && out.Missing.Category == "OBJECT_NOT_FOUND", out.Missing},
		{"207 upsert", out.Upsert.Status == "COMPLETE" && out.Upsert.NumErrors == 1 && fmt.Sprint(out.Upsert.ErrorIDs) == "[bad.score@example.com]" &&
			fmt.Sprint(out.Upsert.Results) == "[{ana.petrova@example.com false} {node.client@example.com true}]", out.Upsert},
		{"search pages through a secondly 429", fmt.Sprint(out.Search) == "[maria.dimitrova@example.com georgi.ivanov@example.com ana.petrova@example.com]" && out.SearchTotal == 4, out.Search},
		{"502 retried", out.PageAfterRetry.Count == 2 && out.PageAfterRetry.Next, out.PageAfterRetry},
		{"unknown event", out.BadEvent.Code == 400 && out.BadEvent.Category == "VALIDATION_ERROR", out.BadEvent},
		{"default association", out.Association.Status == "COMPLETE" && fmt.Sprint(out.Association.TypeIDs) == "[279 280]", out.Association},
		{"bad token", out.BadToken.Code == 401 && out.BadToken.Category == "INVALID_AUTHENTICATION", out.BadToken},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, c.got)
		}
	}
	if occ := s.Occurrences(); len(occ) != 1 || occ[0].ContactID != ana.ID || occ[0].Properties["quality_score"] != "91" {
		t.Errorf("event occurrences %+v", occ)
	}
	var secondly int
	for _, r := range s.Requests() {
		if r.Status == 429 {
			secondly++
		}
	}
	if secondly == 0 {
		t.Error("the searches never met the secondly limit, so the client's retry of it was not exercised")
	}
}

type failure struct {
	Code     int    `json:"code"`
	Category string `json:"category"`
	Message  string `json:"message"`
}
