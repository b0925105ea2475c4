// Package sim is a simulator of the Mailchimp Marketing API 3.0 for tests and `aquahub dev`:
// a plain net/http handler, in memory, that the Mailchimp SDKs and the aquahub connector
// cannot tell from the vendor for the campaign and member calls aquahub uses. See the
// connector README for what it models and what it does not.
package sim
