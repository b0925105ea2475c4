// Package partners is the partner registry: each partner's catalog API, content
// guidelines, affiliate link template, revenue sharing terms and notification endpoint
// (/api/v1/partners), the revenue attributed to content featuring it, and the
// partnership ROI (the seed's get_partnership_roi).
//
// A registered partner drives three other parts of the hub, which meet it through
// interfaces the wiring (cmd/aquahub) connects:
//
//   - the partner connector runs as instance partner/<id> with the partner's settings
//     (ConnectorSettings): its catalog API, the secret names its key and notification key
//     have among the tenant's partner connector secrets, and an output rewrite that
//     evaluates the partner's expr field mapping over each product;
//   - the content engine writes content whose partnership names the partner with its
//     guidelines and an affiliate link carrying the content's id (Guide);
//   - revenue arrives as partner.revenue.attributed events, recorded by the
//     attribute_revenue step kind once per partner and order id.
//
// ROI reads the partner's content pieces (ContentSource), their page views and clicks
// (MetricsSource) and the attributions; RATIONALE.md and the PartnershipROI API type
// define it.
//
// The module is built by New from its Deps (no settings of its own). Its state lives behind
// Store, implemented on the hub's bbolt file in internal/storage/bolt; storetest is the
// contract. routes.go is the only file that knows HTTP; the API's types are in sdk/api.
package partners
