// Package identity authenticates callers: it turns a request's credential into a
// core.Principal (tenant, role, subject). Today the credentials are the API keys each
// tenant's configuration lists.
package identity
