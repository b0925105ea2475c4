// Package sim is a simulator of the Instagram Graph API's content publishing, media and
// insights endpoints for tests and `aquahub sim instagram`: a plain net/http handler, in
// memory, with stateful media containers (IN_PROGRESS for a configurable number of status
// polls, then FINISHED, or ERROR for media that looks invalid), the 24-hour publishing limit
// per Instagram user, deterministic insights, Graph-style error bodies and usage headers,
// and the access-token check. See the connector README for what it models and what it does
// not.
package sim
