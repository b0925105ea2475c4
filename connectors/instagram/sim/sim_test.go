package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

type client struct {
	t   testing.TB
	ts  *httptest.Server
	tok string
}

func newTestServer(t testing.TB, now *time.Time, opts ...Option) (*Server, *client) {
	t.Helper()
	s := New(append([]Option{WithClock(func() time.Time { return *now })}, opts...)...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, &client{t: t, ts: ts, tok: DefaultKey}
}

// call sends a Graph request the way Meta's SDKs do: parameters in the query for GET and in
// a form body for POST, the access token among them.
func (c *client) call(method, path string, p url.Values) simtest.Response {
	c.t.Helper()
	if p == nil {
		p = url.Values{}
	}
	if c.tok != "" {
		p.Set("access_token", c.tok)
	}
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, c.ts.URL+"/v25.0"+path+"?"+p.Encode(), nil)
	} else {
		req, _ = http.NewRequest(method, c.ts.URL+"/v25.0"+path, strings.NewReader(p.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return simtest.Do(c.t, c.ts.Client(), req)
}

func graphErr(r simtest.Response) (code, sub int, msg string) {
	e, _ := r.Body["error"].(map[string]any)
	if e == nil {
		return 0, 0, ""
	}
	c, _ := e["code"].(float64)
	s, _ := e["error_subcode"].(float64)
	m, _ := e["message"].(string)
	return int(c), int(s), m
}

func (c *client) status(id string) string {
	c.t.Helper()
	r := c.call("GET", "/"+id, url.Values{"fields": {"status_code,status"}})
	s, _ := r.Body["status_code"].(string)
	return s
}

func TestAuth(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		tok      string
		wantCode int
	}{
		{"no token", "", 104},
		{"wrong token", "nope", 190},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newTestServer(t, &now)
			c.tok = tt.tok
			r := c.call("GET", "/"+DefaultUser, nil)
			if code, _, _ := graphErr(r); r.Status != 400 || code != tt.wantCode {
				t.Fatalf("status %d code %d, want 400 code %d: %s", r.Status, code, tt.wantCode, r.Raw)
			}
		})
	}
}

func TestPublishImage(t *testing.T) {
	now := time.Date(2025, 8, 6, 15, 0, 0, 0, time.UTC)
	s, c := newTestServer(t, &now, WithProcessingPolls(2))
	r := c.call("POST", "/"+DefaultUser+"/media", url.Values{"image_url": {"https://cdn.aquascene.bg/iwagumi.jpg"}, "caption": {"Iwagumi #aquascape"}})
	id, _ := r.Body["id"].(string)
	if r.Status != 200 || id == "" {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	if r.Header.Get("X-App-Usage") == "" || r.Header.Get("X-Business-Use-Case-Usage") == "" {
		t.Fatalf("usage headers missing: %v", r.Header)
	}
	// Publishing before the container finished fails with Graph's not-ready error.
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {id}})
	if code, sub, _ := graphErr(r); code != 9007 || sub != 2207027 {
		t.Fatalf("early publish: %s", r.Raw)
	}
	for i, want := range []string{StatusInProgress, StatusInProgress, StatusFinished} {
		if got := c.status(id); got != want {
			t.Fatalf("poll %d: %s, want %s", i, got, want)
		}
	}
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {id}})
	mediaID, _ := r.Body["id"].(string)
	if r.Status != 200 || mediaID == "" {
		t.Fatalf("publish: %s", r.Raw)
	}
	r = c.call("GET", "/"+mediaID, url.Values{"fields": {"id,permalink,timestamp,media_type,media_product_type"}})
	if p, _ := r.Body["permalink"].(string); !strings.HasPrefix(p, "https://www.instagram.com/p/") || r.Body["timestamp"] != "2025-08-06T15:00:00+0000" || r.Body["media_type"] != "IMAGE" {
		t.Fatalf("media: %s", r.Raw)
	}
	if got := c.status(id); got != StatusPublished {
		t.Fatalf("container after publish: %s", got)
	}
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {id}})
	if code, _, _ := graphErr(r); code != 100 || len(s.Media()) != 1 {
		t.Fatalf("second publish: %s; %d media", r.Raw, len(s.Media()))
	}
	r = c.call("GET", "/"+DefaultUser+"/content_publishing_limit", url.Values{"fields": {"quota_usage,config"}})
	if r.Raw != `{"data":[{"config":{"quota_duration":86400,"quota_total":50},"quota_usage":1}]}` {
		t.Fatalf("limit: %s", r.Raw)
	}
}

func TestCarousel(t *testing.T) {
	now := time.Now()
	_, c := newTestServer(t, &now, WithProcessingPolls(0))
	var kids []string
	for _, p := range []url.Values{
		{"image_url": {"https://cdn.example.com/a.jpg"}, "is_carousel_item": {"true"}},
		{"video_url": {"https://cdn.example.com/b.mp4"}, "media_type": {"VIDEO"}, "is_carousel_item": {"true"}},
	} {
		r := c.call("POST", "/"+DefaultUser+"/media", p)
		kids = append(kids, r.Body["id"].(string))
	}
	r := c.call("POST", "/"+DefaultUser+"/media", url.Values{"media_type": {"CAROUSEL"}, "children": {kids[0]}})
	if code, _, _ := graphErr(r); code != 100 {
		t.Fatalf("one child accepted: %s", r.Raw)
	}
	r = c.call("POST", "/"+DefaultUser+"/media", url.Values{"media_type": {"CAROUSEL"}, "children": {strings.Join(kids, ",")}, "caption": {"two"}})
	parent := r.Body["id"].(string)
	if got := c.status(parent); got != StatusFinished {
		t.Fatalf("carousel status %s", got)
	}
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {parent}})
	r = c.call("GET", "/"+r.Body["id"].(string), url.Values{"fields": {"media_type,children"}})
	kidsOut, _ := r.Body["children"].(map[string]any)["data"].([]any)
	if r.Body["media_type"] != "CAROUSEL_ALBUM" || len(kidsOut) != 2 {
		t.Fatalf("carousel media: %s", r.Raw)
	}
}

func TestInvalidMedia(t *testing.T) {
	now := time.Now()
	_, c := newTestServer(t, &now)
	// An image Instagram cannot fetch fails the create call itself.
	r := c.call("POST", "/"+DefaultUser+"/media", url.Values{"image_url": {"https://cdn.example.invalid/x.jpg"}})
	if code, sub, _ := graphErr(r); code != 9004 || sub != 2207052 {
		t.Fatalf("bad image: %s", r.Raw)
	}
	// A video is processed later: the container turns to ERROR with the vendor's code.
	r = c.call("POST", "/"+DefaultUser+"/media", url.Values{"media_type": {"REELS"}, "video_url": {"https://cdn.example.com/clip.avi"}})
	id := r.Body["id"].(string)
	c.status(id)
	r = c.call("GET", "/"+id, url.Values{"fields": {"status_code,status"}})
	if r.Body["status_code"] != StatusError || !strings.Contains(r.Body["status"].(string), "2207026") {
		t.Fatalf("bad video: %s", r.Raw)
	}
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {id}})
	if code, sub, _ := graphErr(r); code != 9004 || sub != ErrorInvalidMedia {
		t.Fatalf("publish of an ERROR container: %s", r.Raw)
	}
}

func TestContainerExpires(t *testing.T) {
	now := time.Now()
	_, c := newTestServer(t, &now, WithProcessingPolls(0))
	r := c.call("POST", "/"+DefaultUser+"/media", url.Values{"image_url": {"https://cdn.example.com/a.jpg"}})
	id := r.Body["id"].(string)
	now = now.Add(25 * time.Hour)
	if got := c.status(id); got != StatusExpired {
		t.Fatalf("status %s, want EXPIRED", got)
	}
}

func TestCaptionLimits(t *testing.T) {
	tests := []struct{ name, caption string }{
		{"too long", strings.Repeat("a", MaxCaption+1)},
		{"too many hashtags", strings.Repeat("#tag ", MaxHashtags+1)},
		{"too many mentions", strings.Repeat("@who ", MaxMentions+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			_, c := newTestServer(t, &now)
			r := c.call("POST", "/"+DefaultUser+"/media", url.Values{"image_url": {"https://cdn.example.com/a.jpg"}, "caption": {tt.caption}})
			if code, _, _ := graphErr(r); code != 100 {
				t.Fatalf("accepted: %s", r.Raw)
			}
		})
	}
}

func TestPublishingLimit(t *testing.T) {
	base := time.Now()
	now := base.Add(-QuotaDuration + 10*time.Minute)
	s, c := newTestServer(t, &now, WithProcessingPolls(0))
	s.UsePublishingQuota(QuotaTotal)
	now = base
	r := c.call("POST", "/"+DefaultUser+"/media", url.Values{"image_url": {"https://cdn.example.com/a.jpg"}})
	id := r.Body["id"].(string)
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {id}})
	if code, sub, _ := graphErr(r); code != 9 || sub != 2207042 {
		t.Fatalf("over the limit: %s", r.Raw)
	}
	now = base.Add(11 * time.Minute)
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {id}})
	if r.Status != 200 {
		t.Fatalf("after the window: %s", r.Raw)
	}
}

func TestInsights(t *testing.T) {
	now := time.Now()
	_, c := newTestServer(t, &now, WithProcessingPolls(0))
	r := c.call("POST", "/"+DefaultUser+"/media", url.Values{"image_url": {"https://cdn.example.com/a.jpg"}})
	r = c.call("POST", "/"+DefaultUser+"/media_publish", url.Values{"creation_id": {r.Body["id"].(string)}})
	media := r.Body["id"].(string)
	tests := []struct {
		name     string
		path     string
		p        url.Values
		wantCode int
		wantMsg  string
	}{
		{"media metrics", "/" + media + "/insights", url.Values{"metric": {"reach,likes,comments,saved,shares,views,total_interactions"}}, 0, ""},
		{"deprecated impressions", "/" + media + "/insights", url.Values{"metric": {"reach,impressions"}}, 100, "views"},
		{"deprecated engagement", "/" + media + "/insights", url.Values{"metric": {"engagement"}}, 100, "total_interactions"},
		{"reels metric on an image", "/" + media + "/insights", url.Values{"metric": {"ig_reels_avg_watch_time"}}, 100, "metric[0]"},
		{"account total", "/" + DefaultUser + "/insights", url.Values{"metric": {"reach,views"}, "period": {"day"}, "metric_type": {"total_value"}}, 0, ""},
		{"account without period", "/" + DefaultUser + "/insights", url.Values{"metric": {"reach"}}, 100, "period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.call("GET", tt.path, tt.p)
			code, _, msg := graphErr(r)
			if code != tt.wantCode || !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("code %d %q, want %d containing %q", code, msg, tt.wantCode, tt.wantMsg)
			}
			if tt.wantCode == 0 {
				data, _ := r.Body["data"].([]any)
				if len(data) != len(strings.Split(tt.p.Get("metric"), ",")) {
					t.Fatalf("data: %s", r.Raw)
				}
			}
		})
	}
	// The numbers are deterministic and consistent.
	a := c.call("GET", "/"+media+"/insights", url.Values{"metric": {"likes,comments,saved,shares,total_interactions"}})
	b := c.call("GET", "/"+media+"/insights", url.Values{"metric": {"likes,comments,saved,shares,total_interactions"}})
	if a.Raw != b.Raw {
		t.Fatal("insights differ between calls")
	}
	var sum, total float64
	for _, e := range a.Body["data"].([]any) {
		m := e.(map[string]any)
		v := m["values"].([]any)[0].(map[string]any)["value"].(float64)
		if m["name"] == "total_interactions" {
			total = v
		} else {
			sum += v
		}
	}
	if sum != total || total == 0 {
		t.Fatalf("interactions %v, sum of parts %v", total, sum)
	}
}

func TestThrottling(t *testing.T) {
	now := time.Now()
	s, c := newTestServer(t, &now, WithCallLimit(2))
	s.Injector().Inject(http.StatusTooManyRequests, 1)
	r := c.call("GET", "/"+DefaultUser, nil)
	if code, _, _ := graphErr(r); code != 4 || r.Status != 400 || !strings.Contains(r.Header.Get("X-App-Usage"), `"call_count":100`) {
		t.Fatalf("injected throttle: %d %s %v", r.Status, r.Raw, r.Header)
	}
	c.call("GET", "/"+DefaultUser, nil)
	c.call("GET", "/"+DefaultUser, nil)
	r = c.call("GET", "/"+DefaultUser, nil)
	code, _, _ := graphErr(r)
	var buc map[string][]map[string]any
	_ = json.Unmarshal([]byte(r.Header.Get("X-Business-Use-Case-Usage")), &buc)
	if code != 80002 || len(buc[DefaultUser]) != 1 || buc[DefaultUser][0]["estimated_time_to_regain_access"].(float64) < 1 {
		t.Fatalf("call limit: %s %v", r.Raw, r.Header)
	}
	s.Injector().Inject(http.StatusInternalServerError, 1)
	r = c.call("GET", "/x", nil)
	if r.Status != 500 || r.Body["error"].(map[string]any)["is_transient"] != true {
		t.Fatalf("5xx: %d %s", r.Status, r.Raw)
	}
}
