// Package secrets seals secret values at rest with an envelope scheme: every tenant has a
// random 256-bit data key, stored wrapped (AES-256-GCM) by the hub's master key, and each
// secret value is sealed with its tenant's data key (AES-256-GCM, the tenant bound in as
// additional data, so that neither a value nor a data key can be moved to another tenant).
// The master key comes from the environment or a file and is never stored with the data;
// rotating it rewraps the data keys only (RewrapDataKey), leaving every sealed value as it
// is.
//
// Vault implements core.SecretBox, which the stores call for the secret fields of their
// records (webhook endpoint secrets, tenants' connector secrets and inbound source keys).
package secrets
