package plugin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/plugin"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

type empty struct{}

type deadlineOut struct {
	Has      bool  `json:"has"`
	UnixMS   int64 `json:"unix_ms"`
	ConfigDC any   `json:"dc"`
}

// probeConnector reports its context's deadline and its dc configuration value, and calls
// a URL with its key in the header it declares.
func probeConnector() *plugin.Connector {
	return &plugin.Connector{
		ID: "probe", Version: "1.0.0", Egress: []string{"*"},
		Config:  []plugin.ConfigSpec{{Name: "dc", FromSecret: &plugin.SecretDerivation{Secret: "api_key", AfterLast: "-", Pattern: "[a-z]+[0-9]+"}}},
		Secrets: []plugin.SecretSpec{{Name: "api_key", Places: []plugin.SecretPlace{{Header: "X-Api-Key"}}}},
		Actions: []plugin.Handler{
			plugin.Action[empty, deadlineOut]{Name: "probe", Handle: func(ctx context.Context, _ empty) (deadlineOut, error) {
				d, ok := ctx.Deadline()
				return deadlineOut{Has: ok, UnixMS: d.UnixMilli(), ConfigDC: plugin.Config(ctx, "dc")}, nil
			}},
			plugin.Action[struct {
				URL string `json:"url"`
			}, empty]{Name: "call", Handle: func(ctx context.Context, in struct {
				URL string `json:"url"`
			}) (empty, error) {
				req, _ := http.NewRequestWithContext(ctx, "GET", in.URL, nil)
				req.Header.Set("X-Api-Key", plugin.Secret("api_key"))
				resp, err := plugin.HTTPClient().Do(req)
				if err != nil {
					return empty{}, err
				}
				resp.Body.Close()
				return empty{}, nil
			}},
		},
	}
}

func TestActionContextEndsAtTheCallDeadline(t *testing.T) {
	h, err := plugintest.New(probeConnector(), plugintest.Options{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	out, err := h.Invoke(context.Background(), "probe", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := out["unix_ms"].(interface{ Int64() (int64, error) })
	if out["has"] != true || ms == nil {
		t.Fatalf("the action's context has no deadline: %v", out)
	}
	got, _ := ms.Int64()
	if lo, hi := before.Add(3*time.Second).UnixMilli()-1, time.Now().Add(3*time.Second).UnixMilli()+1; got < lo || got > hi {
		t.Fatalf("deadline %d, want the call's, between %d and %d", got, lo, hi)
	}
}

func TestHarnessAppliesTheHubsSecretRules(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef-us21"
	t.Run("short secrets are refused", func(t *testing.T) {
		_, err := plugintest.New(probeConnector(), plugintest.Options{Secrets: map[string]string{"api_key": "short"}})
		if err == nil || !strings.Contains(err.Error(), "secrets.api_key: must be at least 8 bytes") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("config derived from the key", func(t *testing.T) {
		h, _ := plugintest.New(probeConnector(), plugintest.Options{Secrets: map[string]string{"api_key": key}})
		out, err := h.Invoke(context.Background(), "probe", map[string]any{})
		if err != nil || out["dc"] != "us21" {
			t.Fatalf("dc = %v (%v), want us21", out["dc"], err)
		}
	})
	t.Run("bound to origins", func(t *testing.T) {
		vendor := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer vendor.Close()
		other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the other origin was called") }))
		defer other.Close()
		h, _ := plugintest.New(probeConnector(), plugintest.Options{
			Secrets: map[string]string{"api_key": key}, Egress: []string{vendor.URL, other.URL},
			SecretOrigins: map[string][]string{"api_key": {vendor.URL}},
		})
		if _, err := h.Invoke(context.Background(), "call", map[string]any{"url": vendor.URL}); err != nil {
			t.Fatal(err)
		}
		_, err := h.Invoke(context.Background(), "call", map[string]any{"url": other.URL})
		if err == nil || !strings.Contains(err.Error(), `secret "api_key" is not bound to`) {
			t.Fatalf("got %v", err)
		}
	})
}
