// Package openaifake is an OpenAI-compatible chat completions server for tests and
// benchmarks. It speaks the wire contract go-openai uses (POST /v1/chat/completions,
// non-streaming JSON and streaming server-sent events, OpenAI's error objects and rate-limit
// headers), listens on loopback only, and records what it saw: requests, concurrency, and the
// highest number of requests in flight at once.
//
// By default it answers every request with a deterministic article in the JSON shape
// aquahub's prompts ask for, built from the prompt: the topic, the section headings, the
// keywords and the affiliate link. Tests queue scripted answers (errors, 429s with headers,
// malformed bodies, delays) with Enqueue.
package openaifake
