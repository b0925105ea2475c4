//go:build !wasip1

package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/instagram/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

// fixture is a harness pointed at a simulator behind a middleware that can fail chosen
// requests.
type fixture struct {
	sim    *sim.Server
	h      *plugintest.Harness
	fail   *failer
	url    string
	token  string
	config map[string]any
}

// failer answers 503 to the requests match selects, after letting skip of them through,
// count times; when after is set, the simulator serves the request first and the answer is
// lost on the way back.
type failer struct {
	mu    sync.Mutex
	match func(*http.Request) bool
	skip  int
	count int
	after bool
}

func (f *failer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		hit := f.match != nil && f.count > 0 && f.match(r)
		if hit && f.skip > 0 {
			f.skip--
			hit = false
		} else if hit {
			f.count--
		}
		after := f.after
		f.mu.Unlock()
		if !hit {
			next.ServeHTTP(w, r)
			return
		}
		if after {
			next.ServeHTTP(httptest.NewRecorder(), r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"message":"An unexpected error has occurred.","type":"OAuthException","code":2,"is_transient":true}}`))
	})
}

func (f *failer) set(match func(*http.Request) bool, skip, count int, after bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.match, f.skip, f.count, f.after = match, skip, count, after
}

func post(suffix string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == "POST" && strings.HasSuffix(r.URL.Path, suffix) }
}

func setup(t testing.TB, token string, config map[string]any, opts ...sim.Option) *fixture {
	t.Helper()
	s := sim.New(opts...)
	fl := &failer{}
	ts := httptest.NewServer(fl.wrap(s))
	t.Cleanup(ts.Close)
	cfg := map[string]any{"base_url": ts.URL + "/v25.0", "ig_user_id": sim.DefaultUser, "poll_interval": "10ms"}
	for k, v := range config {
		cfg[k] = v
	}
	f := &fixture{sim: s, fail: fl, url: ts.URL, token: token, config: cfg}
	f.h = f.harness(t)
	return f
}

// harness returns a new harness, with its own kv, against the fixture's simulator.
func (f *fixture) harness(t testing.TB) *plugintest.Harness {
	t.Helper()
	h, err := plugintest.New(Connector, plugintest.Options{
		Config: f.config, Secrets: map[string]string{"access_token": f.token},
		Egress: []string{f.url}, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func (f *fixture) publish(t testing.TB, in map[string]any) (map[string]any, error) {
	t.Helper()
	return f.h.Invoke(context.Background(), "media.publish", in)
}

func wantError(t testing.TB, err error, kind abi.ErrorKind, field string) *abi.Error {
	t.Helper()
	var e *abi.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Field != field {
		t.Fatalf("error = %v, want %s field %q", err, kind, field)
	}
	return e
}

var (
	image = map[string]any{"image_url": "https://cdn.aquascene.bg/iwagumi.jpg", "caption": "A calm Iwagumi", "hashtags": []string{"aquascape", "iwagumi"}, "content_id": "550e8400-e29b-41d4-a716-446655440000"}
	reel  = map[string]any{"video_url": "https://cdn.aquascene.bg/trim.mp4", "caption": "Trimming carpet plants", "share_to_feed": true}
	album = map[string]any{"type": "carousel", "caption": "Before and after", "items": []map[string]any{
		{"image_url": "https://cdn.aquascene.bg/before.jpg", "alt_text": "before"},
		{"video_url": "https://cdn.aquascene.bg/after.mp4"},
	}}
)

// specParams reads the parameters Meta's own spec allows on an IGUser edge.
func specParams(t testing.TB, method, edge string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("testdata/instagram-graph-IGUser.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		APIs []struct {
			Method, Endpoint string
			Params           []struct{ Name string }
		}
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{"access_token": true}
	for _, a := range spec.APIs {
		if a.Method == method && a.Endpoint == edge {
			for _, p := range a.Params {
				out[p.Name] = true
			}
			return out
		}
	}
	t.Fatalf("no %s %s in the spec", method, edge)
	return nil
}

// checkAgainstSpec verifies every parameter the connector sent to the publishing edges is one
// Meta's spec lists, and that the token travelled as access_token.
func checkAgainstSpec(t testing.TB, reqs []simkit.Request) {
	t.Helper()
	allowed := map[string]map[string]bool{
		"/media":         specParams(t, "POST", "media"),
		"/media_publish": specParams(t, "POST", "media_publish"),
	}
	for _, r := range reqs {
		q, _ := url.ParseQuery(r.RawQuery)
		if q.Get("access_token") != sim.DefaultKey {
			t.Fatalf("%s %s without the access token", r.Method, r.Path)
		}
		if r.Method != "POST" {
			continue
		}
		for suffix, names := range allowed {
			if !strings.HasSuffix(r.Path, suffix) {
				continue
			}
			body, _ := url.ParseQuery(string(r.Body))
			for k := range body {
				if !names[k] {
					t.Fatalf("POST %s sends %q, which Meta's spec does not list", r.Path, k)
				}
			}
		}
	}
}

func TestPublish(t *testing.T) {
	tests := []struct {
		name          string
		input         map[string]any
		wantType      string
		wantMediaType string
		wantLink      string
		wantCaption   string
		wantContainer int
	}{
		{"image with hashtags", image, "photo", "IMAGE", "https://www.instagram.com/p/", "A calm Iwagumi\n\n#aquascape #iwagumi", 1},
		{"reel", reel, "reel", "VIDEO", "https://www.instagram.com/reel/", "Trimming carpet plants", 1},
		{"carousel with a video", album, "carousel", "CAROUSEL_ALBUM", "https://www.instagram.com/p/", "Before and after", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, sim.DefaultKey, nil, sim.WithProcessingPolls(2))
			out, err := f.publish(t, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			media := f.sim.Media()
			if len(media) != 1 || len(f.sim.Containers()) != tt.wantContainer {
				t.Fatalf("%d media, %d containers", len(media), len(f.sim.Containers()))
			}
			m := media[0]
			if out["platform"] != "instagram" || out["post_id"] != m.ID || out["permalink"] != m.Permalink ||
				!strings.HasPrefix(m.Permalink, tt.wantLink) || out["post_type"] != tt.wantType || out["media_type"] != tt.wantMediaType {
				t.Fatalf("output %v, media %+v", out, m)
			}
			if m.Caption != tt.wantCaption {
				t.Fatalf("caption %q, want %q", m.Caption, tt.wantCaption)
			}
			if out["content_id"] != tt.input["content_id"] && tt.input["content_id"] != nil {
				t.Fatalf("content_id not passed through: %v", out)
			}
			if ts, err := time.Parse(time.RFC3339, out["published_at"].(string)); err != nil || !ts.Equal(m.Timestamp) {
				t.Fatalf("published_at %v, media at %s", out["published_at"], m.Timestamp)
			}
			checkAgainstSpec(t, f.sim.Requests())
		})
	}
}

func countPublishCalls(reqs []simkit.Request) int {
	n := 0
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/media_publish") {
			n++
		}
	}
	return n
}

// A retry of the same step reuses what the earlier attempt created and never publishes twice.
func TestPublishResumes(t *testing.T) {
	readBack := func(r *http.Request) bool { return r.Method == "GET" && strings.Contains(r.URL.RawQuery, "permalink") }
	tests := []struct {
		name    string
		match   func(*http.Request) bool
		skip    int
		after   bool
		wantErr bool
	}{
		{"second child not created", post("/media"), 1, false, true},
		{"carousel container not created", post("/media"), 2, false, true},
		{"publish call failed", post("/media_publish"), 0, false, true},
		{"publish answer lost", post("/media_publish"), 0, true, true},
		{"read-back failed", readBack, 0, false, true},
		{"first attempt succeeded", nil, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, sim.DefaultKey, nil, sim.WithProcessingPolls(1))
			f.fail.set(tt.match, tt.skip, 1, tt.after)
			first, err := f.publish(t, album)
			if tt.wantErr {
				wantError(t, err, abi.KindTransient, "")
			} else if err != nil {
				t.Fatal(err)
			}
			out, err := f.publish(t, album)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if n := len(f.sim.Media()); n != 1 || out["post_id"] != f.sim.Media()[0].ID {
				t.Fatalf("%d media after the retry, want 1 (output %v)", n, out)
			}
			if n := len(f.sim.Containers()); n != 3 {
				t.Fatalf("%d containers after the retry, want 3 (reused)", n)
			}
			if n := countPublishCalls(f.sim.Requests()); n != 1 {
				t.Fatalf("media_publish reached Instagram %d times", n)
			}
			if !tt.wantErr && (out["resumed"] != true || out["post_id"] != first["post_id"]) {
				t.Fatalf("retry after success: %v, first %v", out, first)
			}
		})
	}
}

// A container still processing when the call's time is up hands over to a retry, which
// polls the same container.
func TestPublishHandsOverSlowContainer(t *testing.T) {
	f := setup(t, sim.DefaultKey, map[string]any{"publish_wait": "60ms", "poll_interval": "20ms"}, sim.WithProcessingPolls(6))
	_, err := f.publish(t, reel)
	e := wantError(t, err, abi.KindTransient, "")
	if e.RetryAfter() != 30*time.Second || !strings.Contains(e.Message, "IN_PROGRESS") {
		t.Fatalf("first attempt: %v retry after %s", e, e.RetryAfter())
	}
	var out map[string]any
	for i := 0; i < 5 && (out == nil); i++ {
		out, err = f.publish(t, reel)
	}
	if err != nil || out == nil {
		t.Fatalf("never finished: %v", err)
	}
	if n := len(f.sim.Containers()); n != 1 {
		t.Fatalf("%d containers, want the one reused", n)
	}
	if c := f.sim.Containers()[0]; c.Polls != 7 {
		t.Fatalf("container read %d times, want 7 (6 in progress, then finished)", c.Polls)
	}
}

func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func manyTags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "tag" + strings.Repeat("x", i%5) + string(rune('a'+i%26))
	}
	return out
}

func TestPublishErrors(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		config    map[string]any
		prepare   func(f *fixture)
		input     map[string]any
		wantKind  abi.ErrorKind
		wantField string
		wantMedia int
	}{
		{"caption too long", "", nil, nil, with(image, "caption", strings.Repeat("a", 2201), "hashtags", nil), abi.KindInvalidInput, "caption", 0},
		{"hashtags push the caption over", "", nil, nil, with(image, "caption", strings.Repeat("a", 2190)), abi.KindInvalidInput, "hashtags", 0},
		{"31 hashtags", "", nil, nil, with(image, "hashtags", manyTags(31)), abi.KindInvalidInput, "hashtags", 0},
		{"31 hashtags in the caption", "", nil, nil, with(image, "caption", strings.Repeat("#a ", 31), "hashtags", nil), abi.KindInvalidInput, "caption", 0},
		{"21 mentions", "", nil, nil, with(image, "caption", strings.Repeat("@friend ", 21)), abi.KindInvalidInput, "caption", 0},
		{"bad hashtag", "", nil, nil, with(image, "hashtags", []string{"two words"}), abi.KindInvalidInput, "hashtags[0]", 0},
		{"image without url", "", nil, nil, map[string]any{"type": "image", "caption": "x"}, abi.KindInvalidInput, "image_url", 0},
		{"carousel of one", "", nil, nil, map[string]any{"items": []map[string]any{{"image_url": "https://cdn.example.com/a.jpg"}}}, abi.KindInvalidInput, "items", 0},
		{"no account", "", map[string]any{"ig_user_id": ""}, nil, image, abi.KindInvalidInput, "ig_user_id", 0},
		{"image Instagram cannot fetch", "", nil, nil, with(image, "image_url", "https://cdn.example.com/photo.png"), abi.KindInvalidInput, "image_url", 0},
		{"reel that fails processing", "", nil, nil, with(reel, "video_url", "https://cdn.example.com/clip.avi"), abi.KindInvalidInput, "video_url", 0},
		{"carousel item that fails processing", "", nil, nil, map[string]any{"items": []map[string]any{
			{"image_url": "https://cdn.example.com/a.jpg"}, {"video_url": "https://cdn.example.invalid/b.mp4"},
		}}, abi.KindInvalidInput, "items[1].video_url", 0},
		{"bad token", "wrong-token", nil, nil, image, abi.KindAuth, "", 0},
		{"throttled", "", nil, func(f *fixture) { f.sim.Injector().Inject(429, 1) }, image, abi.KindRateLimited, "", 0},
		{"5xx", "", nil, func(f *fixture) { f.sim.Injector().Inject(500, 1) }, image, abi.KindTransient, "", 0},
		{"quota used", "", nil, func(f *fixture) { f.sim.UsePublishingQuota(sim.QuotaTotal) }, image, abi.KindRateLimited, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token
			if token == "" {
				token = sim.DefaultKey
			}
			f := setup(t, token, tt.config)
			if tt.prepare != nil {
				tt.prepare(f)
			}
			_, err := f.publish(t, tt.input)
			wantError(t, err, tt.wantKind, tt.wantField)
			if n := len(f.sim.Media()); n != tt.wantMedia {
				t.Fatalf("%d media published", n)
			}
			if tt.name == "quota used" && len(f.sim.Containers()) != 0 {
				t.Fatal("a container was created past the publishing limit")
			}
		})
	}
}

// Past the limit the retry waits until the oldest post of the window leaves it.
func TestPublishingLimitRetryAfter(t *testing.T) {
	f := setup(t, sim.DefaultKey, nil, sim.WithProcessingPolls(0))
	if _, err := f.publish(t, image); err != nil {
		t.Fatal(err)
	}
	f.sim.UsePublishingQuota(sim.QuotaTotal - 1)
	other := f.harness(t) // another step: its own idempotency state
	_, err := other.Invoke(context.Background(), "media.publish", reel)
	e := wantError(t, err, abi.KindRateLimited, "")
	if e.RetryAfter() < 23*time.Hour || e.RetryAfter() > 24*time.Hour+2*time.Minute {
		t.Fatalf("retry after %s, want about 24 h after the first post", e.RetryAfter())
	}
	if len(f.sim.Containers()) != 1 {
		t.Fatal("a container was created past the limit")
	}
	out, err := other.Invoke(context.Background(), "publishing_limit.get", map[string]any{})
	if err != nil || out["quota_usage"].(json.Number).String() != "50" || out["remaining"].(json.Number).String() != "0" {
		t.Fatalf("limit %v %v", out, err)
	}
}

func TestInsights(t *testing.T) {
	f := setup(t, sim.DefaultKey, nil, sim.WithProcessingPolls(0))
	out, err := f.publish(t, image)
	if err != nil {
		t.Fatal(err)
	}
	media := out["post_id"].(string)
	tests := []struct {
		name        string
		input       map[string]any
		wantKind    abi.ErrorKind
		wantField   string
		wantMessage string
		wantMetrics []string
	}{
		{"media", map[string]any{"media_id": media, "metrics": []string{"reach", "views", "likes", "comments", "saved", "shares", "total_interactions"}}, "", "", "", []string{"reach", "views", "total_interactions"}},
		{"account", map[string]any{"metrics": []string{"reach", "views"}}, "", "", "", []string{"reach", "views"}},
		{"account series", map[string]any{"metrics": []string{"follower_count"}, "metric_type": "time_series"}, "", "", "", []string{"follower_count"}},
		{"impressions", map[string]any{"media_id": media, "metrics": []string{"reach", "impressions"}}, abi.KindInvalidInput, "metrics[1]", "use views", nil},
		{"plays", map[string]any{"media_id": media, "metrics": []string{"plays"}}, abi.KindInvalidInput, "metrics[0]", "use views", nil},
		{"engagement", map[string]any{"media_id": media, "metrics": []string{"engagement"}}, abi.KindInvalidInput, "metrics[0]", "use total_interactions", nil},
		{"unknown metric", map[string]any{"media_id": media, "metrics": []string{"happiness"}}, abi.KindInvalidInput, "metrics", "must be one of", nil},
		{"unknown media", map[string]any{"media_id": "123", "metrics": []string{"reach"}}, abi.KindNotFound, "", "does not exist", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.h.Invoke(context.Background(), "insights.get", tt.input)
			if tt.wantKind != "" {
				e := wantError(t, err, tt.wantKind, tt.wantField)
				if !strings.Contains(e.Message, tt.wantMessage) {
					t.Fatalf("message %q, want %q in it", e.Message, tt.wantMessage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			metrics := out["metrics"].(map[string]any)
			for _, m := range tt.wantMetrics {
				if n, _ := metrics[m].(json.Number).Int64(); n <= 0 {
					t.Fatalf("metric %s = %v in %v", m, metrics[m], out)
				}
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	f := setup(t, sim.DefaultKey, nil)
	f.sim.Injector().Set(simkit.Faults{Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := f.h.Invoke(ctx, "media.publish", image)
	wantError(t, err, abi.KindTransient, "")
}
