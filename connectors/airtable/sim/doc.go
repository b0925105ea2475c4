// Package sim is a simulator of the Airtable Web API v0 for tests and `aquahub dev`: a plain
// net/http handler, in memory, that real Airtable clients (airtable.js, pyairtable, the
// aquahub connector) cannot tell from the vendor for the calls aquahub uses. See the
// connector README for what it models and what it does not.
package sim
