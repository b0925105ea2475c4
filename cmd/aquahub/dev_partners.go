package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/api"
)

// registerDevPartners registers every partner in dir (*.json, bodies of PUT
// /api/v1/partners/{id}) through the running sandbox's API, with the catalog pointed at the
// partner simulator, the only partner API the sandbox has. A partner that cannot be
// registered is reported and skipped: the sandbox runs without it.
func registerDevPartners(ctx context.Context, cfg Config, addr, dir string, out io.Writer) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	simBase := ""
	for _, t := range cfg.Tenants {
		if t.ID == DevTenant {
			simBase, _ = t.Connectors[partnerConnector].Config["base_url"].(string)
		}
	}
	var registered []string
	for _, f := range files {
		id, err := registerDevPartner(ctx, "http://"+loopbackAddr(addr), f, simBase)
		if err != nil {
			fmt.Fprintf(os.Stderr, "aquahub dev: partner %s not registered: %v\n", f, err)
			continue
		}
		registered = append(registered, id)
	}
	if len(registered) > 0 {
		fmt.Fprintf(out, "  %-10s %s (catalog at %s; connector: partner/<id>)\n", "partners:", strings.Join(registered, ", "), simBase)
	}
}

func registerDevPartner(ctx context.Context, hub, file, simBase string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var in api.PartnerInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	if in.ID == "" {
		in.ID = strings.TrimSuffix(filepath.Base(file), ".json")
	}
	if in.Catalog != nil && simBase != "" {
		in.Catalog.BaseURL = simBase
	}
	body, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, hub+"/api/v1/partners/"+in.ID, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+DevAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return "", fmt.Errorf("PUT /api/v1/partners/%s: %s: %s", in.ID, resp.Status, msg)
	}
	return in.ID, nil
}
