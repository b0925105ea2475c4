package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	googleTokenURI = "https://oauth2.googleapis.com/token"
	defaultScope   = "https://www.googleapis.com/auth/analytics.readonly"
	// tokenKey is where the access token is kept in kv.
	tokenKey = "oauth/access_token"
	// refreshBefore is how long before its expiry a kept token is replaced.
	refreshBefore = 2 * time.Minute
	// assertionLife is the assertion's lifetime; Google allows at most an hour.
	assertionLife = time.Hour
)

// savedToken is the access token as kept in kv.
type savedToken struct {
	AccessToken string `json:"access_token"`
	// Expiry is Unix seconds.
	Expiry int64 `json:"expiry"`
	// Account is the service account the token belongs to.
	Account string `json:"account"`
}

// tokenError is the OAuth error body of the token endpoint.
type tokenError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *tokenError) Error() string {
	return fmt.Sprintf("ga4: token endpoint: %d %s: %s", e.Status, e.Code, e.Description)
}

// accessToken returns a bearer token for the Data API: the one kept in kv while it has more
// than refreshBefore left, else a new one from the service-account JWT-bearer flow. The
// assertion is signed by the host with the service_account secret; the private key never
// enters the connector.
func accessToken(ctx context.Context, force bool) (string, error) {
	if !force {
		if b, ok, err := plugin.KVGet(ctx, tokenKey); err != nil {
			return "", err
		} else if ok {
			var t savedToken
			if json.Unmarshal(b, &t) == nil && t.AccessToken != "" && time.Until(time.Unix(t.Expiry, 0)) > refreshBefore {
				return t.AccessToken, nil
			}
		}
	}
	if !plugin.HasSecret(ctx, "service_account") {
		return "", plugin.Auth(errors.New("the service_account secret is not set"))
	}
	assertion, account, tokenURI, err := signAssertion(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", plugin.Permanent(fmt.Errorf("ga4: token_uri %q: %w", tokenURI, err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := plugin.HTTPClient().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", plugin.Transient(fmt.Errorf("ga4: reading the token response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		te := &tokenError{Status: resp.StatusCode}
		if json.Unmarshal(raw, te) != nil || te.Code == "" {
			te.Code, te.Description = http.StatusText(resp.StatusCode), strings.TrimSpace(string(raw))
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			return "", plugin.RateLimited(retryAfter(resp.Header, ""), te)
		case resp.StatusCode >= 500:
			return "", plugin.Transient(te)
		case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			// invalid_grant, invalid_scope, unauthorized_client: the tenant must fix the
			// service account, its key or its access.
			return "", plugin.Auth(te)
		}
		return "", plugin.Permanent(te)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(raw, &tr); err != nil || tr.AccessToken == "" {
		return "", plugin.Transient(fmt.Errorf("ga4: the token endpoint answered no access_token: %.200s", raw))
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 3600
	}
	b, _ := json.Marshal(savedToken{AccessToken: tr.AccessToken, Expiry: time.Now().Unix() + tr.ExpiresIn, Account: account})
	if err := plugin.KVSet(ctx, tokenKey, b); err != nil {
		return "", err
	}
	return tr.AccessToken, nil
}

// signAssertion asks the host for the JWT assertion and returns it with the account (iss)
// and the token endpoint (aud) it names. A service-account key file supplies both unless
// the config's client_email and token_uri override them; a bare PEM key needs client_email.
func signAssertion(ctx context.Context) (jwt, account, tokenURI string, err error) {
	sign := func(aud string) (string, map[string]any, error) {
		iat := time.Now().Add(-10 * time.Second)
		claims := map[string]any{
			"scope": plugin.ConfigString(ctx, "scope", defaultScope),
			"iat":   iat.Unix(), "exp": iat.Add(assertionLife).Unix(),
		}
		if email := plugin.ConfigString(ctx, "client_email", ""); email != "" {
			claims["iss"] = email
		}
		if aud != "" {
			claims["aud"] = aud
		}
		tok, err := plugin.SignJWT(ctx, plugin.RS256, "service_account", nil, claims)
		if err != nil {
			return "", nil, err
		}
		back, err := plugin.JWTClaims(tok)
		if err != nil {
			return "", nil, plugin.Permanent(err)
		}
		return tok, back, nil
	}
	jwt, back, err := sign(plugin.ConfigString(ctx, "token_uri", ""))
	if err != nil {
		return "", "", "", err
	}
	if aud, _ := back["aud"].(string); aud == "" {
		// A bare PEM key names no token endpoint: use Google's.
		if jwt, back, err = sign(googleTokenURI); err != nil {
			return "", "", "", err
		}
	}
	account, _ = back["iss"].(string)
	tokenURI, _ = back["aud"].(string)
	if account == "" {
		return "", "", "", plugin.Permanent(errors.New("config client_email: required when the service_account secret is a PEM key rather than a service-account key file"))
	}
	if u, perr := url.Parse(tokenURI); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", "", plugin.Permanent(fmt.Errorf("token_uri %q is not an http(s) URL", tokenURI))
	}
	return jwt, account, tokenURI, nil
}

// forgetToken drops the kept token after the API refused it.
func forgetToken(ctx context.Context) { _ = plugin.KVDelete(ctx, tokenKey) }
