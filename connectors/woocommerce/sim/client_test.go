package sim

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

// TestOfficialNodeClient runs WooCommerce's own Node client (@woocommerce/woocommerce-rest-api,
// pinned in testdata/node) against the simulator in all three of its auth modes: OAuth 1.0a
// signatures over http (paging through X-WP-TotalPages, a search with spaces and commas, an
// update, a batch with a failed item, a 404, a wrong secret, orders), and over https Basic
// auth and the query-string key.
func TestOfficialNodeClient(t *testing.T) {
	modules := simtest.NodeModules(t, "testdata/node")
	s := New()
	plain := httptest.NewServer(s)
	defer plain.Close()
	tls := httptest.NewTLSServer(s)
	defer tls.Close()
	raw := simtest.RunNode(t, modules, "testdata/node/client.cjs", "WC_HTTP="+plain.URL, "WC_HTTPS="+tls.URL,
		"WC_KEY="+DefaultKey, "WC_SECRET="+DefaultSecret, "NODE_TLS_REJECT_UNAUTHORIZED=0", "NODE_NO_WARNINGS=1")
	type list struct {
		Names []string `json:"names"`
		Total int      `json:"total"`
		Pages int      `json:"pages"`
	}
	type failure struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var out struct {
		OAuthList   list     `json:"oauthList"`
		OAuthSearch []string `json:"oauthSearch"`
		OAuthUpdate struct {
			Price       string `json:"price"`
			OnSale      bool   `json:"onSale"`
			Description string `json:"description"`
		} `json:"oauthUpdate"`
		OAuthBatch struct {
			Created     []string `json:"created"`
			UpdateError string   `json:"updateError"`
			Deleted     []int    `json:"deleted"`
		} `json:"oauthBatch"`
		OAuthMissing   failure `json:"oauthMissing"`
		OAuthBadSecret failure `json:"oauthBadSecret"`
		OAuthOrders    struct {
			Count int    `json:"count"`
			Total string `json:"total"`
		} `json:"oauthOrders"`
		BasicList     list    `json:"basicList"`
		QueryGet      string  `json:"queryGet"`
		QueryBadParam failure `json:"queryBadParam"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("client output %s: %v", raw, err)
	}
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"oauth paging", len(out.OAuthList.Names) == 13 && out.OAuthList.Total == 13 && out.OAuthList.Pages == 3 && out.OAuthList.Names[12] == "ADA Pro-Scissors Wave", out.OAuthList},
		{"oauth search", fmt.Sprint(out.OAuthSearch) == "[TROP-SOIL-3]", out.OAuthSearch},
		{"oauth update", out.OAuthUpdate.Price == "199.00" && out.OAuthUpdate.OnSale && out.OAuthUpdate.Description == "<p>Vivid colours (and the app's timer).</p>", out.OAuthUpdate},
		{"oauth batch", fmt.Sprint(out.OAuthBatch.Created) == "[Java Moss Portion]" && out.OAuthBatch.UpdateError == "woocommerce_rest_product_invalid_id" && fmt.Sprint(out.OAuthBatch.Deleted) == "[712]", out.OAuthBatch},
		{"404", out.OAuthMissing.Status == 404 && out.OAuthMissing.Code == "woocommerce_rest_product_invalid_id", out.OAuthMissing},
		{"wrong secret", out.OAuthBadSecret.Status == 401 && out.OAuthBadSecret.Message == "Invalid signature - provided signature does not match.", out.OAuthBadSecret},
		{"orders", out.OAuthOrders.Count == 2 && out.OAuthOrders.Total == "2", out.OAuthOrders},
		{"basic over https", fmt.Sprint(out.BasicList.Names) == "[Chihiros WRGB II 60 Twinstar Light 600SA]", out.BasicList},
		{"query string over https", out.QueryGet == "ADA-AS-AMZ2-9", out.QueryGet},
		{"bad parameter", out.QueryBadParam.Status == 400 && out.QueryBadParam.Code == "rest_invalid_param", out.QueryBadParam},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, c.got)
		}
	}
	schemes := map[string]bool{}
	for _, r := range s.Requests() {
		switch {
		case r.Header.Get("Authorization") != "":
			schemes["basic"] = true
		case strings.Contains(r.RawQuery, "oauth_signature="):
			schemes["oauth"] = true
		case strings.Contains(r.RawQuery, "consumer_secret="):
			schemes["query"] = true
		}
	}
	if len(schemes) != 3 {
		t.Errorf("auth schemes seen: %v", schemes)
	}
}
