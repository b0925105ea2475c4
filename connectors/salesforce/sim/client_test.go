package sim

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

// TestJSForce runs jsforce (pinned in testdata/node), the de-facto Node client of
// Salesforce, against the simulator: the OAuth2 password login, create, retrieve, update
// and delete, single and collection upserts by external id, a collection with a failed
// record, a query paged through nextRecordsUrl, a malformed query, a session that expires
// (jsforce logs in again), the JWT bearer flow and /limits.
func TestJSForce(t *testing.T) {
	modules := simtest.NodeModules(t, "testdata/node")
	s := New(WithQueryBatchSize(2))
	ts := httptest.NewServer(s)
	defer ts.Close()
	raw := simtest.RunNode(t, modules, "testdata/node/client.cjs", "SF_URL="+ts.URL, "SF_CLIENT_ID="+DefaultClientID,
		"SF_CLIENT_SECRET="+DefaultClientSecret, "SF_USERNAME="+DefaultUsername, "SF_PASSWORD="+DefaultPassword+DefaultSecurityToken,
		"SF_PRIVATE_KEY="+string(s.PrivateKeyPEM()))
	type failure struct {
		Code   string   `json:"code"`
		Fields []string `json:"fields"`
	}
	var out struct {
		Login struct {
			InstanceURL string `json:"instanceUrl"`
			OrgID       string `json:"orgId"`
		} `json:"login"`
		CRUD struct {
			Success bool   `json:"success"`
			Name    string `json:"name"`
			Title   string `json:"title"`
		} `json:"crud"`
		Missing failure `json:"missing"`
		Upsert  struct {
			First, Second, SameID bool
		} `json:"upsert"`
		Collection       []string `json:"collection"`
		CollectionUpsert []bool   `json:"collectionUpsert"`
		Query            struct {
			TotalSize int    `json:"totalSize"`
			Fetched   int    `json:"fetched"`
			Done      bool   `json:"done"`
			First     string `json:"first"`
		} `json:"query"`
		BadQuery    failure `json:"badQuery"`
		AfterExpiry int     `json:"afterExpiry"`
		Deleted     failure `json:"deleted"`
		JWT         int     `json:"jwt"`
		Limits      struct {
			Max, Remaining int
		} `json:"limits"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("client output %s: %v", raw, err)
	}
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"login", out.Login.InstanceURL == ts.URL && out.Login.OrgID == orgID, out.Login},
		{"crud", out.CRUD.Success && out.CRUD.Name == "Js Force" && out.CRUD.Title == "Client", out.CRUD},
		{"required field", out.Missing.Code == "REQUIRED_FIELD_MISSING" && fmt.Sprint(out.Missing.Fields) == "[LastName]", out.Missing},
		{"upsert", out.Upsert.First && !out.Upsert.Second && out.Upsert.SameID, out.Upsert},
		{"collection", fmt.Sprint(out.Collection) == "[ok REQUIRED_FIELD_MISSING ok]", out.Collection},
		{"collection upsert", fmt.Sprint(out.CollectionUpsert) == "[false true]", out.CollectionUpsert},
		{"paged query", out.Query.TotalSize == 4 && out.Query.Fetched == 4 && out.Query.First == "ana.petrova@example.com", out.Query},
		{"malformed query", out.BadQuery.Code == "INVALID_FIELD", out.BadQuery},
		{"session renewed", out.AfterExpiry == 3, out.AfterExpiry},
		{"deleted", out.Deleted.Code == "ENTITY_IS_DELETED", out.Deleted},
		{"jwt", out.JWT == 1, out.JWT},
		{"limits", out.Limits.Max == DefaultDailyLimit && out.Limits.Remaining < DefaultDailyLimit, out.Limits},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, c.got)
		}
	}
	if s.Logins() != 3 {
		t.Errorf("%d logins, want 3 (password, again after the expiry, JWT)", s.Logins())
	}
}
