// Package identity is the hub's identity and tenancy module. It authenticates callers (API
// keys of the configuration file with their roles, stored keys aqh_live_… created through
// the API and kept as SHA-256 digests, JWTs verified with golang-jwt with the algorithm
// pinned per key and exp required, and the operator's token), keeps the registry of tenants
// at run time (the file's tenants with the sections the file sets pinned, laid over those
// the API created or changed), enforces tenants' request quotas and ingestion rates, and
// keeps the audit log of administrative changes and failed credentials.
//
// Other modules reach it only through core: core.Authenticator, core.TenantDirectory,
// core.Admission and core.Auditor.
package identity
