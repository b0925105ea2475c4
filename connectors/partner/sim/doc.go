// Package sim is a simulator of a partner's product catalog API, stocked as Green Aqua's
// (aquascaping CO2 systems, substrates, plants, lights, filtration and fertilisers, with
// stable ids), for tests and `aquahub sim partner`: a plain net/http handler, in memory, with
// page, cursor, next-link and Link-header paging, API-key auth, and a notification receiver
// that verifies the signature of each content notification and records it. See the partner
// connector's README for what it models and what it does not.
package sim
