// Package sim is a simulator of HubSpot's CRM v3 contacts (and companies and deals), CRM
// search, custom behavioral events and v4 associations, for tests and `aquahub dev`: a plain
// net/http handler, in memory, with HubSpot's error bodies and rate-limit policies
// (ten-secondly rolling, secondly for search, daily until midnight in the account's time
// zone). The connector and HubSpot's own Node client cannot tell it from the vendor for the
// calls they make. See the connector README for what it models and what it does not.
package sim
