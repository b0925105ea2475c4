package rules_test

import (
	"testing"

	"github.com/aquascene/aquahub/core"
)

// BenchmarkRenderMailSend renders the step `aquahub bench pipeline` runs: a SendGrid v3
// mail/send body mapped from the event, as the engine asks for it once per run.
func BenchmarkRenderMailSend(b *testing.B) {
	set, err := parse(b, `rules:
  - id: bench-newsletter
    on: newsletter.send.requested
    steps:
      - id: send
        connector: http
        action: request
        with:
          method: POST
          url: /v3/mail/send
          bearer_secret: api_key
          idempotency_header: Idempotency-Key
          json:
            personalizations: '${{ map(event.data.recipients, ({"to": [{"email": #}]})) }}'
            from: { email: newsletter@aquascene.bg, name: AquaScene }
            subject: ${{ event.data.subject }}
            content: [ { type: text/html, value: "${{ event.data.html }}" } ]
            custom_args: { content_id: "${{ event.data.content_id }}", bench_id: "${{ event.id }}" }
`, withConnector(b))
	if err != nil {
		b.Fatal(err)
	}
	plan, _ := set.Plan("bench-newsletter")
	e := ev("newsletter.send.requested", `{"content_id":"CNT-7","subject":"This Week in Aquascaping","html":"<h1>CO2</h1><p>Issue 7</p>","recipients":["reader7@example.com"]}`)
	b.ReportAllocs()
	for b.Loop() {
		in, err := plan.Steps[0].Render(core.Scope{Event: e, Tenant: e.Tenant})
		if err != nil || in["json"] == nil {
			b.Fatal(in, err)
		}
	}
}
