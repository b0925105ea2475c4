// Package sim is a simulator of the Google Analytics 4 Data API v1beta (runReport) and of
// Google's OAuth 2.0 token endpoint for service accounts, for tests and `aquahub sim ga4`: a
// plain net/http handler, in memory. The token endpoint verifies the RS256 JWT assertion
// against the service account's public key and checks its iss, aud, scope and lifetime;
// runReport serves deterministic reports over a seeded dataset of AquaScene page paths and
// traffic sources, honouring date ranges, dimensions, metrics, simple dimension filters,
// order, offset and limit, with Google's error bodies. Google's own Go client cannot tell it
// from the vendor (see sim_test.go). See the connector README for what it does not model.
package sim
