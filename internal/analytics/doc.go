// Package analytics is the content analytics module: where each piece of content lives (its
// page on the site, its Instagram posts), what the analytics sources measured of it day by
// day, and the rankings and totals read from that.
//
// Rules feed it through the `analytics` step kind:
//
//	analytics: track     where a content piece lives (page path, Instagram media id)
//	analytics: targets   the tracked pieces, for a scheduled rule to fan out over
//	analytics: record    one source's metrics of one piece, per day
//
// A scheduled rule lists the targets and emits one event per piece; a rule on that event
// pulls GA4's page report and Instagram's insights through the connectors, records them
// here and writes the totals back to Airtable (examples/aquascene/rules/analytics.yaml).
//
// Observations are kept per (content, source, day). A daily source (GA4 reports with the
// date dimension) records each day's own values, so pulling an overlapping window again
// replaces days rather than counting them twice. A cumulative source (Instagram's lifetime
// insights) records the running total as of the day it was read; a period's value is the
// last total in the period less the last one before it. Totals and the ranking
// (GET /api/v1/analytics/content) are computed from these at read time.
//
// The module is built by New from its Deps (no settings of its own). Its state lives behind
// Store, implemented on the hub's bbolt file in internal/storage/bolt; storetest is the
// contract. routes.go is the only file that knows HTTP; the API's types are in sdk/api.
package analytics
