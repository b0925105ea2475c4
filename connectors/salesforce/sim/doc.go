// Package sim is a simulator of a Salesforce org's REST API for tests and `aquahub dev`: the
// OAuth 2.0 token endpoint (JWT bearer assertions verified against the connected app's
// certificate, and the username-password flow), sObjects (Contact, Lead, Account with
// standard and custom fields, external-id upsert), sObject Collections, a SOQL subset with
// cursors and nextRecordsUrl paging, the daily API limit with Sforce-Limit-Info, and
// Salesforce's error arrays. The connector and jsforce cannot tell it from an org for the
// calls they make. See the connector README for what it models and what it does not.
package sim
