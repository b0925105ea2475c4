// Package scrub redacts secret values from text the host hands back to a connector or keeps
// in its records: HTTP responses and error messages (package abi/egress), step outputs and
// errors in run records, and connector log records (package plugins).
//
// A connector never holds a secret's value, so a value that comes back can only be a
// reflection: a granted server echoing a request, an error quoting a URL. Scrubbing is a
// second line of defence behind binding each secret to origins and places; it looks for the
// value in the encodings a reflecting server or a hostile connector would use (escaped,
// base64, hex, reversed, case-changed, split in two), not in every conceivable one.
package scrub
