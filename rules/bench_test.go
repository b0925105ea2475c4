package rules_test

import (
	"os"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/rules"
)

// BenchmarkRenderMailSend renders the example SendGrid newsletter rule's mail.send step for
// the example event, as the engine asks for it once per run: the work bench pipeline's
// rule does for every event.
func BenchmarkRenderMailSend(b *testing.B) {
	set, err := rules.Load([]string{"../examples/aquascene/rules/sendgrid-newsletter.yaml"}, withConnector(b))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile("../examples/aquascene/events/sendgrid-newsletter-requested.json")
	if err != nil {
		b.Fatal(err)
	}
	e, err := core.DecodeEvent(raw)
	if err != nil {
		b.Fatal(err)
	}
	plan, _ := set.Plan("sendgrid-newsletter")
	b.ReportAllocs()
	for b.Loop() {
		in, err := plan.Steps[0].Render(core.Scope{Event: &e, Tenant: "default"})
		if err != nil || in["to"] == nil {
			b.Fatal(in, err)
		}
	}
}
