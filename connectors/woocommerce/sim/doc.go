// Package sim is a simulator of the WooCommerce REST API v3 of one store, for tests and
// `aquahub dev`: products (list with WooCommerce's filters and paging headers, get, create,
// update, trash and delete, batch), product categories, orders, and webhooks that deliver
// product and order changes signed as WooCommerce signs them (sdk/signature), after
// the unsigned ping WooCommerce sends when a webhook is created. It accepts HTTP Basic, query-string and one-legged
// OAuth 1.0a keys, so the connector and WooCommerce's own Node client cannot tell it from
// a store. See the connector README for what it models and what it does not.
package sim
