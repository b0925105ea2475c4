package sim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/sdk/signature"
)

// ParsePrivateKey reads a PEM private key (PKCS#8, SEC 1 or PKCS#1).
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

// Claims are the claims of a notification signature.
type Claims struct {
	Issuer     string `json:"iss"`
	Audience   string `json:"aud"`
	IssuedAt   int64  `json:"iat"`
	Expires    int64  `json:"exp"`
	ID         string `json:"jti"`
	BodySHA256 string `json:"body_sha256"`
}

// VerifyJWT checks a compact JWS signed with RS256 or ES256 by the private half of key and
// returns its claims.
func VerifyJWT(token string, key crypto.PublicKey) (Claims, error) {
	var c Claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return c, fmt.Errorf("header: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return c, fmt.Errorf("header: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, fmt.Errorf("signature: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if h.Alg != "ES256" || len(sig) != 64 {
			return c, fmt.Errorf("alg %q does not match the partner's P-256 key", h.Alg)
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, digest[:], r, s) {
			return c, errors.New("signature does not verify")
		}
	case *rsa.PublicKey:
		if h.Alg != "RS256" {
			return c, fmt.Errorf("alg %q does not match the partner's RSA key", h.Alg)
		}
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig); err != nil {
			return c, errors.New("signature does not verify")
		}
	default:
		return c, fmt.Errorf("unsupported verification key %T", key)
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, fmt.Errorf("claims: %w", err)
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return c, fmt.Errorf("claims: %w", err)
	}
	return c, nil
}

// verify checks a notification: its signature, that the signature covers this body, id and
// address, and that it is fresh.
func (s *Server) verify(r *http.Request, body []byte) error {
	id, ts := r.Header.Get("Webhook-Id"), r.Header.Get("Webhook-Timestamp")
	if id == "" || ts == "" {
		return errors.New("webhook-id and webhook-timestamp are required")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec < 0 {
		return fmt.Errorf("webhook-timestamp %q is not Unix seconds", ts)
	}
	now := s.now()
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("webhook-timestamp is %s away from now", d.Round(time.Second))
	}
	if mac := r.Header.Get(HMACHeader); mac != "" {
		return s.verifyHMAC(mac, body, id, sec)
	}
	tok := r.Header.Get(SignatureHeader)
	if tok == "" {
		return errors.New(HMACHeader + " or " + SignatureHeader + " is required")
	}
	c, err := VerifyJWT(tok, s.verifyKey)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare([]byte(c.BodySHA256), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
		return errors.New("body_sha256 does not match the body")
	}
	if c.ID != id || c.IssuedAt != sec {
		return errors.New("jti and iat must equal webhook-id and webhook-timestamp")
	}
	if c.Expires <= now.Unix() {
		return errors.New("the signature has expired")
	}
	if aud, err := url.Parse(c.Audience); err != nil || aud.Path != r.URL.Path {
		return fmt.Errorf("aud %q is not this endpoint", c.Audience)
	}
	return nil
}

// verifyHMAC checks an X-Signature-256 notification: the HMAC of the body under the shared
// secret, and, since the HMAC covers only the body, that the body's id and timestamp are
// the headers' (a replayed body cannot pass for a new notification).
func (s *Server) verifyHMAC(mac string, body []byte, id string, sec int64) error {
	if err := signature.Signature256.Verify([]byte(s.secret), mac, body); err != nil {
		return fmt.Errorf("%s: %w", HMACHeader, err)
	}
	var b struct {
		ID        string    `json:"id"`
		Timestamp time.Time `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if b.ID != id || b.Timestamp.Unix() != sec {
		return errors.New("the body's id and timestamp must equal webhook-id and webhook-timestamp")
	}
	return nil
}

// receive serves POST NotificationsPath.
func (s *Server) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "reading body", "")
		return
	}
	n := Notification{ID: r.Header.Get("Webhook-Id"), ReceivedAt: s.now().UTC(), Body: json.RawMessage(body)}
	if !json.Valid(body) {
		n.Body = nil
	}
	if err := s.verify(r, body); err != nil {
		n.Error = err.Error()
		s.mu.Lock()
		s.notifications = append(s.notifications, n)
		s.mu.Unlock()
		writeError(w, http.StatusUnauthorized, "invalid_signature", err.Error(), "")
		return
	}
	if n.Body == nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "the body is not JSON", "")
		return
	}
	n.Verified = true
	s.mu.Lock()
	for _, prev := range s.notifications {
		if prev.Verified && prev.ID == n.ID {
			n.Duplicate = true
		}
	}
	s.notifications = append(s.notifications, n)
	s.mu.Unlock()
	status := http.StatusAccepted
	if n.Duplicate {
		status = http.StatusOK
	}
	simkit.WriteJSON(w, status, map[string]any{"id": n.ID, "status": "accepted", "duplicate": n.Duplicate})
}
