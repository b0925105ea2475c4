package client

import (
	"context"
	"net/url"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/api"
)

// Connectors lists the connectors the hub has loaded, by id.
func (c *Client) Connectors(ctx context.Context) ([]api.Connector, error) {
	var out api.ConnectorList
	_, err := c.Do(ctx, "GET", "/api/v1/connectors", nil, "", nil, &out)
	return out.Connectors, err
}

// ConnectorList fetches the whole listing: the loaded connectors (with what each stores in
// kv per tenant) and the module files the hub refused.
func (c *Client) ConnectorList(ctx context.Context) (api.ConnectorList, error) {
	var out api.ConnectorList
	_, err := c.Do(ctx, "GET", "/api/v1/connectors", nil, "", nil, &out)
	return out, err
}

// ConnectorManifest fetches a loaded connector's manifest: its actions with their input
// and output schemas, config keys, secrets and requested egress.
func (c *Client) ConnectorManifest(ctx context.Context, id string) (*abi.Manifest, error) {
	var m abi.Manifest
	if _, err := c.Do(ctx, "GET", "/api/v1/connectors/"+url.PathEscape(id), nil, "", nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ReloadConnectors makes the hub reload its connector directory. Files the hub refused are
// listed in the answer's Failed, with the reasons in Error; they are not an error of the
// call, since the other connectors were reloaded.
func (c *Client) ReloadConnectors(ctx context.Context) (api.ConnectorReload, error) {
	var out api.ConnectorReload
	_, err := c.Do(ctx, "POST", "/api/v1/connectors/reload", nil, "", nil, &out)
	return out, err
}
