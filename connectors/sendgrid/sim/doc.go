// Package sim is a simulator of SendGrid's v3 mail send API and its signed Event Webhook for
// tests and `aquahub dev`: a plain net/http handler, in memory, that sendgrid-go and the
// aquahub connector cannot tell from the vendor for POST /v3/mail/send. See the connector
// README for what it models and what it does not.
package sim
