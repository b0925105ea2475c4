package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/client"
	"github.com/aquascene/aquahub/sdk/signature"
)

// devSandbox is a running `aquahub dev` with its simulators' addresses.
type devSandbox struct {
	hub  *client.Client
	url  string            // the hub's base URL
	sims map[string]string // name → base URL
}

// startDev runs `aquahub dev` from the repository root on a free port with a temporary data
// directory, and reads the simulators' addresses from what it prints.
func startDev(t *testing.T) *devSandbox {
	t.Helper()
	bin := aquahubBinary(t)
	root := repoRoot(t)
	conns := connectorsDir(t)
	addr := freePort(t)
	cmd := exec.Command(bin, "dev", "--addr", addr, "--data", t.TempDir(), "--connectors", conns)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	sims := map[string]string{}
	simLine := regexp.MustCompile(`^\s+([a-z0-9]+):\s+(http://\S+)`)
	ready := make(chan struct{})
	go func() {
		// The simulators are printed before the sandbox's banner, whose own lines (hub:,
		// inbound:) look like theirs: sims is written only until the banner, after which the
		// test reads it, and the rest of stdout is drained so that the child never blocks.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "aquahub dev sandbox") {
				close(ready)
				break
			}
			if m := simLine.FindStringSubmatch(sc.Text()); m != nil {
				sims[m[1]] = m[2]
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		t.Fatal("aquahub dev did not start")
	}
	return &devSandbox{hub: client.New("http://"+addr, DevAPIKey), url: "http://" + addr, sims: sims}
}

func (d *devSandbox) send(t *testing.T, file string) client.Accepted {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("../../examples/aquascene/events", file))
	if err != nil {
		t.Fatal(err)
	}
	acc, err := d.hub.SendRaw(context.Background(), body, "")
	if err != nil {
		t.Fatalf("posting %s: %v", file, err)
	}
	return acc
}

// simGet reads a simulator's API the way a person with the dev key would. It returns a
// reason to look again later ("" when out was filled): the Airtable simulator rate-limits
// readers like the real one does.
func simGet(t *testing.T, req *http.Request, out any) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusTooManyRequests {
		return "simulator rate limit"
	}
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return ""
}

// eventually polls check until it returns "" or the patience runs out (the Airtable
// connector waits out the simulator's rate limit, which can take a while).
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(time.Second)
	}
}

// TestDevSandboxSeedFlows runs the seed's flows end to end through `aquahub dev`: a
// scheduled Content_Master row is drafted and its row updated in the Airtable simulator,
// a newsletter goes out through the SendGrid and the Mailchimp simulators, and the
// Salesforce, HubSpot and WooCommerce flows run (devCRMAndShopFlows).
func TestDevSandboxSeedFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole sandbox")
	}
	d := startDev(t)
	for _, name := range []string{"airtable", "sendgrid", "mailchimp"} {
		if d.sims[name] == "" {
			t.Fatalf("aquahub dev did not print the %s simulator's address", name)
		}
	}

	// The credentials the banner prints work: a viewer's token from `aquahub token --dev`
	// reads runs and may not post; the operator token lists the tenants.
	tok, err := exec.Command(aquahubBinary(t), "token", "--dev", "--tenant", DevTenant, "--role", "viewer").Output()
	if err != nil {
		t.Fatalf("aquahub token --dev: %v", err)
	}
	viewer := client.New(d.url, strings.TrimSpace(string(tok)))
	if _, err := viewer.Runs(context.Background(), client.RunFilter{}); err != nil {
		t.Fatalf("a --dev token does not read runs: %v", err)
	}
	if _, err := viewer.SendEvent(context.Background(), client.Event{ID: "viewer-1", Source: "dev-test", Type: "dev.test", SpecVersion: "1.0"}); err == nil || !strings.Contains(err.Error(), "permission write_content required") {
		t.Fatalf("a viewer's token posted an event: %v", err)
	}
	if ts, err := client.New(d.url, DevOperatorToken).Tenants(context.Background()); err != nil || len(ts) != 1 || ts[0].ID != DevTenant {
		t.Fatalf("the operator token lists %v, %v", ts, err)
	}

	d.send(t, "content-scheduled.json")
	d.send(t, "sendgrid-newsletter-requested.json")
	// Mailchimp refuses to send a campaign to an empty audience, as the real one does, so a
	// subscriber joins first.
	sub := d.send(t, "mailchimp-subscriber-updated.json")
	eventually(t, "subscriber synced to Mailchimp", func() string {
		run, err := d.hub.Run(context.Background(), sub.Runs[0])
		if err != nil || run.Status != "succeeded" {
			return fmt.Sprintf("run %+v %v", run, err)
		}
		return ""
	})
	d.send(t, "mailchimp-newsletter-requested.json")

	// The row ends Generated, or Published when the SendGrid newsletter for the same content
	// is recorded after the draft; either way the draft's score and date are on it.
	eventually(t, "Content_Master row CNT-2025-0142 drafted", func() string {
		q := url.Values{"filterByFormula": {"{Content_ID}='CNT-2025-0142'"}}
		req, _ := http.NewRequest("GET", d.sims["airtable"]+"/v0/appAquaSceneDev01/Content_Master?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer patAquahubDev00.simulator")
		var page struct {
			Records []struct {
				Fields map[string]any `json:"fields"`
			} `json:"records"`
		}
		if msg := simGet(t, req, &page); msg != "" {
			return msg
		}
		if len(page.Records) != 1 || page.Records[0].Fields["Generated_Date"] == nil || page.Records[0].Fields["Quality_Score"] == nil {
			return fmt.Sprintf("rows: %+v", page.Records)
		}
		return ""
	})

	eventually(t, "newsletter sent through SendGrid", func() string {
		req, _ := http.NewRequest("GET", d.sims["sendgrid"]+"/_sim/messages", nil)
		req.Header.Set("Authorization", "Bearer SG.aquahub-dev.simulator")
		var msgs []map[string]any
		if msg := simGet(t, req, &msgs); msg != "" {
			return msg
		}
		for _, m := range msgs {
			b, _ := json.Marshal(m)
			if strings.Contains(string(b), "This Week in Aquascaping") {
				return ""
			}
		}
		return fmt.Sprintf("%d messages, none with the newsletter's subject", len(msgs))
	})

	eventually(t, "newsletter sent through Mailchimp", func() string {
		req, _ := http.NewRequest("GET", d.sims["mailchimp"]+"/3.0/campaigns", nil)
		req.SetBasicAuth("anystring", "aquahubdev0000000000000000000000-us21")
		var list struct {
			Campaigns []struct {
				Status   string `json:"status"`
				Settings struct {
					SubjectLine string `json:"subject_line"`
				} `json:"settings"`
			} `json:"campaigns"`
		}
		if msg := simGet(t, req, &list); msg != "" {
			return msg
		}
		for _, c := range list.Campaigns {
			if c.Settings.SubjectLine == "This Week in Aquascaping" && c.Status == "sent" {
				return ""
			}
		}
		return fmt.Sprintf("campaigns: %+v", list.Campaigns)
	})

	// The seed's signed content-updates webhook reaches its rule; a wrong signature does not.
	body, err := os.ReadFile("../../examples/aquascene/hooks/content-update.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(sig string) int {
		req, _ := http.NewRequest("POST", d.hub.BaseURL+"/hooks/aquascene/content-updates", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("sha256=" + strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Fatalf("a wrong signature got %d, want 401", code)
	}
	if code := post(signature.SignSHA256Hex(DevHookSecret, body)); code != http.StatusAccepted {
		t.Fatalf("the signed content update got %d, want 202", code)
	}
	eventually(t, "content update handled by its rule", func() string {
		runs, err := d.hub.Runs(context.Background(), client.RunFilter{Rule: "content-update-received"})
		if err != nil || len(runs) != 1 || runs[0].Status != "succeeded" {
			return fmt.Sprintf("runs %+v %v", runs, err)
		}
		return ""
	})

	t.Run("crm and shop flows", func(t *testing.T) { devCRMAndShopFlows(t, d) })

	// Every run the events started, directly or through the events they emitted,
	// ends well: nothing is dead-lettered.
	eventually(t, "all runs finished", func() string {
		runs, err := d.hub.Runs(context.Background(), client.RunFilter{Limit: 1000})
		if err != nil {
			return err.Error()
		}
		for _, r := range runs {
			if r.Status != "succeeded" {
				return fmt.Sprintf("run %s (%s) is %s: %s", r.ID, r.RuleID, r.Status, r.LastError)
			}
		}
		return ""
	})
}
