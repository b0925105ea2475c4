package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

const v = "/services/data/v59.0"

func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	return simtest.Start(t, New, WithClock, opts...)
}

func do(t testing.TB, ts *httptest.Server, method, path, token, body string, header ...string) simtest.Response {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return simtest.Do(t, ts.Client(), req)
}

func login(t testing.TB, ts *httptest.Server) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret},
		"username": {DefaultUsername}, "password": {DefaultPassword + DefaultSecurityToken}}
	resp, err := ts.Client().PostForm(ts.URL+"/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != 200 || tok.AccessToken == "" || tok.InstanceURL != ts.URL {
		t.Fatalf("login = %d %+v", resp.StatusCode, tok)
	}
	return tok.AccessToken
}

func errCode(a simtest.Response) string {
	if len(a.List) == 0 {
		return ""
	}
	c, _ := a.List[0]["errorCode"].(string)
	return c
}

// signJWT builds an RS256 assertion as a connected app's client does.
func signJWT(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	in := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func parseKey(t testing.TB, p []byte) *rsa.PrivateKey {
	t.Helper()
	b, _ := pem.Decode(p)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func TestTokenEndpoint(t *testing.T) {
	s, ts := newTestServer(t)
	key := parseKey(t, s.PrivateKeyPEM())
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": DefaultClientID, "sub": DefaultUsername, "aud": ts.URL, "exp": simtest.Now.Add(3 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	jwt := func(k *rsa.PrivateKey, mod func(map[string]any)) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {signJWT(t, k, claims(mod))}}
	}
	password := func(mod func(url.Values)) url.Values {
		f := url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret},
			"username": {DefaultUsername}, "password": {DefaultPassword + DefaultSecurityToken}}
		if mod != nil {
			mod(f)
		}
		return f
	}
	tests := []struct {
		name      string
		form      url.Values
		inQuery   bool
		wantError string
		wantDesc  string
	}{
		{"password", password(nil), false, "", ""},
		{"password in the query string", password(nil), true, "", ""},
		{"password without security token", password(func(f url.Values) { f.Set("password", DefaultPassword) }), false, "invalid_grant", "authentication failure"},
		{"wrong client id", password(func(f url.Values) { f.Set("client_id", "nope") }), false, "invalid_client_id", "client identifier invalid"},
		{"wrong client secret", password(func(f url.Values) { f.Set("client_secret", "nope") }), false, "invalid_client", "invalid client credentials"},
		{"jwt", jwt(key, nil), false, "", ""},
		{"jwt aud list", jwt(key, func(c map[string]any) { c["aud"] = []string{ts.URL + "/"} }), false, "", ""},
		{"jwt signed by another key", jwt(other, nil), false, "invalid_grant", "invalid assertion"},
		{"jwt wrong issuer", jwt(key, func(c map[string]any) { c["iss"] = "someone" }), false, "invalid_client_id", "client identifier invalid"},
		{"jwt wrong audience", jwt(key, func(c map[string]any) { c["aud"] = "https://login.salesforce.com" }), false, "invalid_grant", "audience is invalid"},
		{"jwt expired", jwt(key, func(c map[string]any) { c["exp"] = simtest.Now.Add(-time.Minute).Unix() }), false, "invalid_grant", "expired authorization code"},
		{"jwt unknown user", jwt(key, func(c map[string]any) { c["sub"] = "intruder@example.com" }), false, "invalid_grant", "user hasn't approved this consumer"},
		{"jwt garbage", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}}, false, "invalid_grant", "invalid assertion"},
		{"no grant type", url.Values{}, false, "unsupported_grant_type", "grant type not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req *http.Request
			if tt.inQuery {
				req, _ = http.NewRequest("POST", ts.URL+"/services/oauth2/token?"+tt.form.Encode(), nil)
			} else {
				req, _ = http.NewRequest("POST", ts.URL+"/services/oauth2/token", strings.NewReader(tt.form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			r := simtest.Do(t, ts.Client(), req)
			if tt.wantError == "" {
				if r.Status != 200 || r.Body["access_token"] == nil || r.Body["instance_url"] != ts.URL || r.Body["token_type"] != "Bearer" {
					t.Fatalf("= %d %s", r.Status, r.Raw)
				}
				tok := r.Body["access_token"].(string)
				if a := do(t, ts, "GET", v+"/limits", tok, ""); a.Status != 200 {
					t.Fatalf("token not accepted: %d %s", a.Status, a.Raw)
				}
				return
			}
			if r.Status != 400 || r.Body["error"] != tt.wantError || r.Body["error_description"] != tt.wantDesc {
				t.Fatalf("= %d %s", r.Status, r.Raw)
			}
		})
	}
}

func TestCertificate(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "aquahub"}, NotBefore: simtest.Now.Add(-time.Hour), NotAfter: simtest.Now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s, ts := newTestServer(t, WithCertificate(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	if s.PrivateKeyPEM() != nil {
		t.Fatal("a private key with a configured certificate")
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {signJWT(t, key, map[string]any{
		"iss": DefaultClientID, "sub": DefaultUsername, "aud": ts.URL, "exp": simtest.Now.Add(time.Minute).Unix()})}}
	resp, _ := ts.Client().PostForm(ts.URL+"/services/oauth2/token", form)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("= %d", resp.StatusCode)
	}
}

func TestSessionsAndLimits(t *testing.T) {
	s, ts := newTestServer(t, WithDailyLimit(3))
	tok := login(t, ts)
	if a := do(t, ts, "GET", v+"/limits", "", ""); a.Status != 401 || errCode(a) != "INVALID_SESSION_ID" {
		t.Fatalf("no token = %d %s", a.Status, a.Raw)
	}
	for i := 1; i <= 3; i++ {
		a := do(t, ts, "GET", v+"/sobjects/Account/describe", tok, "")
		if a.Status != 200 || a.Header.Get("Sforce-Limit-Info") != fmt.Sprintf("api-usage=%d/3", i) {
			t.Fatalf("call %d = %d %v", i, a.Status, a.Header)
		}
	}
	if a := do(t, ts, "GET", v+"/limits", tok, ""); a.Status != 403 || errCode(a) != "REQUEST_LIMIT_EXCEEDED" || a.Header.Get("Sforce-Limit-Info") != "api-usage=3/3" {
		t.Fatalf("over the limit = %d %s %v", a.Status, a.Raw, a.Header)
	}
	s.ExpireSessions()
	if a := do(t, ts, "GET", v+"/limits", tok, ""); a.Status != 401 || errCode(a) != "INVALID_SESSION_ID" {
		t.Fatalf("expired session = %d %s", a.Status, a.Raw)
	}
	if a := do(t, ts, "GET", "/services/data/v99.0/limits", login(t, ts), ""); a.Status != 404 {
		t.Fatalf("unknown version = %d", a.Status)
	}
	if s.Logins() != 2 {
		t.Fatalf("%d logins", s.Logins())
	}
}

func TestSObjectWrites(t *testing.T) {
	s, ts := newTestServer(t)
	tok := login(t, ts)
	a := do(t, ts, "POST", v+"/sobjects/Contact", tok, `{"FirstName":"Nia","LastName":"Koleva","Email":"nia@example.com","Email__c":"nia@example.com","AquaScaping_Interest_Level__c":"beginner","Subscription_Date__c":"2025-08-06T10:00:00Z","Interaction_Score__c":"12"}`)
	id, _ := a.Body["id"].(string)
	if a.Status != 201 || len(id) != 18 || !strings.HasPrefix(id, "003") || a.Body["success"] != true {
		t.Fatalf("create = %d %s", a.Status, a.Raw)
	}
	a = do(t, ts, "GET", v+"/sobjects/Contact/"+id[:15]+"?fields=Name,Subscription_Date__c,Interaction_Score__c", tok, "")
	if a.Status != 200 || a.Body["Name"] != "Nia Koleva" || a.Body["Subscription_Date__c"] != "2025-08-06T10:00:00.000+0000" || a.Body["Interaction_Score__c"] != 12.0 || a.Body["Id"] != id {
		t.Fatalf("get = %d %s", a.Status, a.Raw)
	}
	if a := do(t, ts, "PATCH", v+"/sobjects/Contact/"+id, tok, `{"Title":"Aquascaper","FirstName":null}`); a.Status != 204 {
		t.Fatalf("update = %d %s", a.Status, a.Raw)
	}
	if recs := s.Find("Contact", "Id", id); recs[0]["Title"] != "Aquascaper" || recs[0]["FirstName"] != nil || recs[0]["Name"] != "Koleva" {
		t.Fatalf("stored %v", recs)
	}
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
		wantFields               string
	}{
		{"required field", "POST", "/sobjects/Contact", `{"FirstName":"x"}`, 400, "REQUIRED_FIELD_MISSING", "[LastName]"},
		{"lead needs company", "POST", "/sobjects/Lead", `{"LastName":"x"}`, 400, "REQUIRED_FIELD_MISSING", "[Company]"},
		{"unknown field", "POST", "/sobjects/Contact", `{"LastName":"x","Lead_Source":"Web"}`, 400, "INVALID_FIELD", "[]"},
		{"validation rule", "POST", "/sobjects/Contact", `{"LastName":"x","Interaction_Score__c":150}`, 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "[Interaction_Score__c]"},
		{"too long", "POST", "/sobjects/Contact", `{"LastName":"` + strings.Repeat("x", 81) + `"}`, 400, "STRING_TOO_LONG", "[LastName]"},
		{"bad email", "POST", "/sobjects/Contact", `{"LastName":"x","Email":"not an email"}`, 400, "INVALID_EMAIL_ADDRESS", "[Email]"},
		{"restricted picklist", "POST", "/sobjects/Contact", `{"LastName":"x","AquaScaping_Interest_Level__c":"guru"}`, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "[AquaScaping_Interest_Level__c]"},
		{"number as text", "POST", "/sobjects/Contact", `{"LastName":"x","Interaction_Score__c":"lots"}`, 400, "JSON_PARSER_ERROR", "[]"},
		{"read-only field", "POST", "/sobjects/Contact", `{"LastName":"x","CreatedDate":"2025-01-01T00:00:00Z"}`, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", "[CreatedDate]"},
		{"duplicate external id", "POST", "/sobjects/Contact", `{"LastName":"x","Email__c":"ANA.PETROVA@example.com"}`, 400, "DUPLICATE_VALUE", "[]"},
		{"clear a required field", "PATCH", "/sobjects/Contact/" + id, `{"LastName":null}`, 400, "REQUIRED_FIELD_MISSING", "[LastName]"},
		{"unknown object", "POST", "/sobjects/Subscriber__c", `{"Name":"x"}`, 404, "NOT_FOUND", "[]"},
		{"unknown record", "GET", "/sobjects/Contact/003Aq00000zzzzz", "", 404, "NOT_FOUND", "[]"},
		{"not JSON", "POST", "/sobjects/Contact", `{`, 400, "JSON_PARSER_ERROR", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, ts, tt.method, v+tt.path, tok, tt.body)
			var fields []string
			if len(a.List) > 0 {
				for _, f := range asSlice(a.List[0]["fields"]) {
					fields = append(fields, f.(string))
				}
			}
			if a.Status != tt.wantStatus || errCode(a) != tt.wantCode || fmt.Sprint(orEmptySlice(fields)) != tt.wantFields {
				t.Fatalf("= %d %s", a.Status, a.Raw)
			}
		})
	}
	if a := do(t, ts, "DELETE", v+"/sobjects/Contact/"+id, tok, ""); a.Status != 204 {
		t.Fatalf("delete = %d", a.Status)
	}
	if a := do(t, ts, "GET", v+"/sobjects/Contact/"+id, tok, ""); a.Status != 404 || errCode(a) != "ENTITY_IS_DELETED" {
		t.Fatalf("deleted = %d %s", a.Status, a.Raw)
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func orEmptySlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestUpsert(t *testing.T) {
	s, ts := newTestServer(t)
	tok := login(t, ts)
	path := v + "/sobjects/Contact/Email__c/" + url.PathEscape("new.reader@example.com")
	a := do(t, ts, "PATCH", path, tok, `{"LastName":"Reader","AquaScaping_Interest_Level__c":"beginner"}`)
	if a.Status != 201 || a.Body["created"] != true {
		t.Fatalf("insert = %d %s", a.Status, a.Raw)
	}
	id := a.Body["id"]
	a = do(t, ts, "PATCH", path, tok, `{"AquaScaping_Interest_Level__c":"advanced"}`)
	if a.Status != 200 || a.Body["created"] != false || a.Body["id"] != id {
		t.Fatalf("update = %d %s", a.Status, a.Raw)
	}
	if a := do(t, ts, "PATCH", strings.Replace(path, "v59.0", "v45.0", 1), tok, `{"Title":"x"}`); a.Status != 204 {
		t.Fatalf("update before v46 = %d %s", a.Status, a.Raw)
	}
	if recs := s.Find("Contact", "Email__c", "NEW.READER@example.com"); len(recs) != 1 || recs[0]["AquaScaping_Interest_Level__c"] != "advanced" {
		t.Fatalf("stored %v", recs)
	}
	// AquaScene_Id__c is an external id without uniqueness: two matches are a 300.
	for range 2 {
		do(t, ts, "POST", v+"/sobjects/Contact", tok, `{"LastName":"Twin","AquaScene_Id__c":"SUB-7"}`)
	}
	if a := do(t, ts, "PATCH", v+"/sobjects/Contact/AquaScene_Id__c/SUB-7", tok, `{"Title":"x"}`); a.Status != 300 || !strings.Contains(a.Raw, v+"/sobjects/Contact/003") {
		t.Fatalf("two matches = %d %s", a.Status, a.Raw)
	}
	for _, tt := range []struct {
		name, path, body string
		want             int
	}{
		{"unknown field", v + "/sobjects/Contact/Nope__c/x", `{"LastName":"x"}`, 404},
		{"not an external id", v + "/sobjects/Contact/Email/x@example.com", `{"LastName":"x"}`, 404},
		{"updateOnly without a match", path + "x?updateOnly=true", `{"LastName":"x"}`, 404},
		{"body disagrees with URL", path, `{"Email__c":"other@example.com"}`, 400},
		{"missing required field on insert", v + "/sobjects/Contact/Email__c/nolast@example.com", `{"FirstName":"x"}`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a := do(t, ts, "PATCH", tt.path, tok, tt.body); a.Status != tt.want {
				t.Fatalf("= %d %s", a.Status, a.Raw)
			}
		})
	}
}

func TestCollections(t *testing.T) {
	s, ts := newTestServer(t)
	tok := login(t, ts)
	body := func(allOrNone bool) string {
		return fmt.Sprintf(`{"allOrNone":%v,"records":[
			{"attributes":{"type":"Contact"},"LastName":"One","Email__c":"one@example.com"},
			{"attributes":{"type":"Contact"},"FirstName":"No last name"},
			{"attributes":{"type":"Lead"},"LastName":"Three","Company":"Shrimp Co"}]}`, allOrNone)
	}
	a := do(t, ts, "POST", v+"/composite/sobjects", tok, body(true))
	if a.Status != 200 || len(a.List) != 3 || a.List[0]["success"] != false || !strings.Contains(a.Raw, `"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK"`) ||
		!strings.Contains(a.Raw, `"statusCode":"REQUIRED_FIELD_MISSING"`) || len(s.Find("Contact", "Email__c", "one@example.com")) != 0 {
		t.Fatalf("allOrNone = %d %s", a.Status, a.Raw)
	}
	a = do(t, ts, "POST", v+"/composite/sobjects", tok, body(false))
	if a.Status != 200 || a.List[0]["success"] != true || a.List[1]["success"] != false || a.List[2]["success"] != true || len(s.Find("Contact", "Email__c", "one@example.com")) != 1 {
		t.Fatalf("partial = %d %s", a.Status, a.Raw)
	}
	leadID := a.List[2]["id"].(string)
	a = do(t, ts, "PATCH", v+"/composite/sobjects/Contact/Email__c", tok, `{"allOrNone":false,"records":[
		{"attributes":{"type":"Contact"},"Email__c":"one@example.com","Title":"Updated"},
		{"attributes":{"type":"Contact"},"Email__c":"two@example.com","LastName":"Two"},
		{"attributes":{"type":"Contact"},"LastName":"No key"}]}`)
	if a.Status != 200 || a.List[0]["created"] != false || a.List[1]["created"] != true || a.List[2]["success"] != false {
		t.Fatalf("upsert = %d %s", a.Status, a.Raw)
	}
	a = do(t, ts, "PATCH", v+"/composite/sobjects", tok, `{"records":[{"attributes":{"type":"Lead"},"id":"`+leadID+`","Status":"Working - Contacted"}]}`)
	if a.Status != 200 || a.List[0]["success"] != true {
		t.Fatalf("update = %d %s", a.Status, a.Raw)
	}
	a = do(t, ts, "DELETE", v+"/composite/sobjects?ids="+leadID+",003Aq00000zzzzz", tok, "")
	if a.Status != 200 || a.List[0]["success"] != true || a.List[1]["success"] != false {
		t.Fatalf("delete = %d %s", a.Status, a.Raw)
	}
	many := make([]string, 201)
	for i := range many {
		many[i] = `{"attributes":{"type":"Contact"},"LastName":"x"}`
	}
	if a := do(t, ts, "POST", v+"/composite/sobjects", tok, `{"records":[`+strings.Join(many, ",")+`]}`); a.Status != 400 || errCode(a) != "EXCEEDED_ID_LIMIT" {
		t.Fatalf("201 records = %d %s", a.Status, a.Raw)
	}
}

func query(t testing.TB, ts *httptest.Server, tok, soql string, header ...string) simtest.Response {
	t.Helper()
	return do(t, ts, "GET", v+"/query?q="+url.QueryEscape(soql), tok, "", header...)
}

func emails(a simtest.Response) string {
	var out []string
	for _, r := range asSlice(a.Body["records"]) {
		m := r.(map[string]any)
		out = append(out, fmt.Sprint(m["Email"]))
	}
	return fmt.Sprint(out)
}

func TestQuery(t *testing.T) {
	_, ts := newTestServer(t)
	tok := login(t, ts)
	tests := []struct{ soql, want string }{
		{"SELECT Id, Email FROM Contact WHERE Email = 'ANA.PETROVA@example.com'", "[ana.petrova@example.com]"},
		{"select email from contact where Interaction_Score__c > 50 order by Interaction_Score__c desc", "[maria.dimitrova@example.com georgi.ivanov@example.com]"},
		{"SELECT Email FROM Contact WHERE (Interaction_Score__c >= 87 OR AquaScaping_Interest_Level__c = 'beginner') AND HasOptedOutOfEmail = false ORDER BY Email", "[ana.petrova@example.com maria.dimitrova@example.com]"},
		{"SELECT Email FROM Contact WHERE Email__c = null", "[georgi.ivanov@example.com]"},
		{"SELECT Email FROM Contact WHERE Email LIKE '%dimitrova%'", "[maria.dimitrova@example.com]"},
		{"SELECT Email FROM Contact WHERE AquaScaping_Interest_Level__c IN ('advanced','intermediate') ORDER BY Email DESC", "[maria.dimitrova@example.com georgi.ivanov@example.com]"},
		{"SELECT Email FROM Contact WHERE NOT Email LIKE 'ana%' AND Email != null ORDER BY Email LIMIT 1", "[georgi.ivanov@example.com]"},
		{"SELECT Email FROM Contact WHERE Last_Engagement_Date__c > 2025-07-31T00:00:00Z", "[ana.petrova@example.com]"},
		{"SELECT Email FROM Contact WHERE CreatedDate = LAST_N_DAYS:120 ORDER BY Email OFFSET 2", "[maria.dimitrova@example.com]"},
		{"SELECT Email FROM Contact WHERE Email = 'it\\'s@example.com'", "[]"},
		{"SELECT Email FROM Contact WHERE Email LIKE 'ana\\_petrova%'", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.soql, func(t *testing.T) {
			a := query(t, ts, tok, tt.soql)
			if a.Status != 200 || emails(a) != tt.want {
				t.Fatalf("= %d %s, want %s", a.Status, a.Raw, tt.want)
			}
		})
	}
	if a := query(t, ts, tok, "SELECT COUNT() FROM Contact"); a.Status != 200 || a.Body["totalSize"] != 3.0 {
		t.Fatalf("count = %d %s", a.Status, a.Raw)
	}
	bad := []struct{ soql, code, msg string }{
		{"SELECT Id, Foo FROM Contact", "INVALID_FIELD", "No such column 'Foo' on entity 'Contact'"},
		{"SELECT Id FROM Subscriber", "INVALID_TYPE", "sObject type 'Subscriber' is not supported"},
		{"SELECT Id FROM Contact WHERE Email = 5", "INVALID_FIELD", "must be of type string and should be enclosed in quotes"},
		{"SELECT Id FROM Contact WHERE CreatedDate > '2025-01-01'", "INVALID_FIELD", "must be of type dateTime and should not be enclosed in quotes"},
		{"SELECT Id FROM Contact WHERE Email = 'a' AND LastName = 'b' OR FirstName = 'c'", "MALFORMED_QUERY", "unexpected token: 'OR'"},
		{"SELECT Id FROM Contact WHERE Email = :email", "MALFORMED_QUERY", "unexpected token"},
		{"SELECT Id FROM Contact WHERE Email = 'unterminated", "MALFORMED_QUERY", "expecting '''"},
		{"SELECT Id FROM Contact; DELETE", "MALFORMED_QUERY", "unexpected token"},
		{"SELECT Id FROM Contact OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "2000"},
	}
	for _, tt := range bad {
		t.Run(tt.soql, func(t *testing.T) {
			a := query(t, ts, tok, tt.soql)
			if a.Status != 400 || errCode(a) != tt.code || !strings.Contains(a.Raw, tt.msg) {
				t.Fatalf("= %d %s", a.Status, a.Raw)
			}
		})
	}
}

func TestQueryPaging(t *testing.T) {
	_, ts := newTestServer(t, WithQueryBatchSize(2))
	tok := login(t, ts)
	a := query(t, ts, tok, "SELECT Id, Email FROM Contact ORDER BY Email")
	var got []string
	for pages := 1; ; pages++ {
		if a.Status != 200 || a.Body["totalSize"] != 3.0 {
			t.Fatalf("page %d = %d %s", pages, a.Status, a.Raw)
		}
		for _, r := range asSlice(a.Body["records"]) {
			got = append(got, r.(map[string]any)["Email"].(string))
		}
		next, _ := a.Body["nextRecordsUrl"].(string)
		if a.Body["done"] == true {
			if next != "" || pages != 2 {
				t.Fatalf("last page %d: %s", pages, a.Raw)
			}
			break
		}
		if !strings.HasPrefix(next, v+"/query/01g") {
			t.Fatalf("nextRecordsUrl %q", next)
		}
		a = do(t, ts, "GET", next, tok, "")
	}
	if fmt.Sprint(got) != "[ana.petrova@example.com georgi.ivanov@example.com maria.dimitrova@example.com]" {
		t.Fatalf("records %v", got)
	}
	if a := do(t, ts, "GET", v+"/query/01gnope-2", tok, ""); a.Status != 400 || errCode(a) != "INVALID_QUERY_LOCATOR" {
		t.Fatalf("bad locator = %d %s", a.Status, a.Raw)
	}
}

func TestFaults(t *testing.T) {
	s, ts := newTestServer(t)
	tok := login(t, ts)
	s.Injector().Inject(429, 1)
	s.Injector().Inject(503, 1)
	if a := do(t, ts, "GET", v+"/limits", tok, ""); a.Status != 403 || errCode(a) != "REQUEST_LIMIT_EXCEEDED" {
		t.Fatalf("injected 429 = %d %s", a.Status, a.Raw)
	}
	if a := do(t, ts, "GET", v+"/limits", tok, ""); a.Status != 503 || errCode(a) != "SERVER_UNAVAILABLE" {
		t.Fatalf("injected 503 = %d %s", a.Status, a.Raw)
	}
	if a := do(t, ts, "GET", "/_sim/records/Contact", DefaultClientSecret, ""); a.Status != 200 || len(a.List) != 3 {
		t.Fatalf("control = %d %s", a.Status, a.Raw)
	}
}
