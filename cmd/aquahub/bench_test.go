package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBenchPipelineDeliversEveryEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub with a wasm connector")
	}
	conns := connectorsDir(t)
	for _, tc := range []struct {
		name      string
		connector string
		events    int
	}{
		{name: "http connector to the counting sink", connector: "http", events: 300},
		{name: "sendgrid connector to the simulator", connector: "sendgrid", events: 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runAquahub(t, "bench", "pipeline", "--connectors", conns, "--connector", tc.connector,
				"--events", strconv.Itoa(tc.events), "--clients", "4", "--json")
			if err != nil {
				t.Fatalf("bench pipeline: %v\n%s", err, out)
			}
			var res pipelineResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("--json printed %q: %v", out, err)
			}
			if res.Accepted != int64(tc.events) || res.Errors != 0 || res.Delivered != int64(tc.events) {
				t.Fatalf("accepted %d (%d errors), delivered %d; want all %d", res.Accepted, res.Errors, res.Delivered, tc.events)
			}
			if res.BytesPerEvent <= 0 || res.CPUSecondsPer1000 <= 0 || res.DeliveryP99MS < res.DeliveryP50MS || res.SteadyPerSec <= 0 {
				t.Fatalf("figures missing or inconsistent: %+v", res)
			}
		})
	}
}

// A sink that answers like a distant vendor holds a connector instance for each round trip,
// so with one instance the deliveries come one latency apart at the fastest.
func TestBenchPipelineSlowVendor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub with a wasm connector")
	}
	const events, latency = 12, 40 * time.Millisecond
	out, err := runAquahub(t, "bench", "pipeline", "--connectors", connectorsDir(t), "--events", strconv.Itoa(events),
		"--clients", "4", "--sink-latency", latency.String(), "--pool-size", "1", "--json")
	if err != nil {
		t.Fatalf("bench pipeline: %v\n%s", err, out)
	}
	var res pipelineResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if res.Delivered != events || res.SinkLatencyMS != 40 || res.PoolSize != 1 {
		t.Fatalf("delivered %d, sink latency %v ms, pool size %d; want %d, 40, 1", res.Delivered, res.SinkLatencyMS, res.PoolSize, events)
	}
	if res.DeliveryP50MS < 40 {
		t.Errorf("event→delivery p50 %.1f ms: shorter than the sink's latency", res.DeliveryP50MS)
	}
	if serial := float64(events) * latency.Seconds(); res.ElapsedS < serial {
		t.Errorf("%d deliveries through one instance took %.3fs; the sink's latency alone takes %.3fs one after another", events, res.ElapsedS, serial)
	}
}

func TestBenchPipelineRefusals(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"title":"unknown API key"}`))
	}))
	defer refusing.Close()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown connector", args: []string{"--connector", "ftp"}, want: "--connector: must be http or sendgrid"},
		{name: "module missing", args: []string{"--connectors", t.TempDir()}, want: "run make connectors first"},
		{name: "negative sink latency", args: []string{"--sink-latency", "-1s"}, want: "--sink-latency: must be between 0 and 1m (got -1s)"},
		{name: "pool size of a hub it does not start", args: []string{"--url", refusing.URL, "--pool-size", "8"}, want: "--pool-size: sets the in-process hub's connectors.pool_size; with --url"},
		{name: "hub refuses every event", args: []string{"--url", refusing.URL, "--key", "wrong"}, want: `no event was accepted (first error: 401 {"title":"unknown API key"})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runAquahub(t, append([]string{"bench", "pipeline", "--events", "10"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v (output %q); want one containing %q", err, out, tc.want)
			}
		})
	}
}

func TestSteadyRate(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name     string
		arrivals []time.Duration
		want     float64
	}{
		{name: "too few to say", arrivals: []time.Duration{ms(1), ms(2)}, want: 0},
		{name: "a slow start and a slow tail are left out", arrivals: func() []time.Duration {
			var a []time.Duration
			for i := range 10 { // the first tenth arrives over a whole second
				a = append(a, ms(100*i))
			}
			for i := range 80 { // then one per millisecond
				a = append(a, ms(1000+i))
			}
			for i := range 10 { // and a tail spread over another second
				a = append(a, ms(1080+100*i))
			}
			slices.Reverse(a) // the order arrivals are recorded in does not matter
			return a
		}(), want: 80 / 0.08},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := steadyRate(tc.arrivals); math.Abs(got-tc.want) > 0.5 {
				t.Fatalf("steadyRate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBenchWebhooksDeliversEveryMessage(t *testing.T) {
	out, err := runAquahub(t, "bench", "webhooks", "--deliveries", "200", "--json")
	if err != nil {
		t.Fatalf("bench webhooks: %v\n%s", err, out)
	}
	var res webhookBenchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if len(res.Runs) != 2 {
		t.Fatalf("%d scenarios, want 1 and 100 endpoints: %+v", len(res.Runs), res)
	}
	for _, r := range res.Runs {
		if r.Deliveries != 200 || r.DeliveriesPer <= 0 {
			t.Fatalf("%d endpoint(s): %d deliveries at %.0f/s, want all 200", r.Endpoints, r.Deliveries, r.DeliveriesPer)
		}
	}
}

// --cpuprofile and --memprofile write profiles of the run that go tool pprof reads: gzipped
// protocol buffers whose string tables name the sample type and functions of the hub.
func TestBenchWritesProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	out, err := runAquahub(t, "bench", "ingest", "--duration", "1s", "--null=false", "--clients", "4",
		"--cpuprofile", cpu, "--memprofile", mem)
	if err != nil {
		t.Fatalf("bench ingest: %v\n%s", err, out)
	}
	for _, tc := range []struct{ path, sampleType string }{{cpu, "cpu"}, {mem, "alloc_space"}} {
		f, err := os.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s is not gzipped: %v", tc.path, err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		// Which functions a sampled profile names is chance; that it names some of the
		// hub's (their package paths hold the module's name) is not.
		for _, want := range []string{tc.sampleType, "github.com/aquascene/aquahub/"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("%s does not name %q", tc.path, want)
			}
		}
	}
}
