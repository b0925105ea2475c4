package content_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
)

// fakePartners is a registry of one partner, Green Aqua, whose affiliate links carry the
// content id.
type fakePartners struct{ calls int }

func (f *fakePartners) PartnerGuide(_ context.Context, tenant, id string, link content.PartnerLink) (content.PartnerGuide, error) {
	f.calls++
	if tenant != "aquascene" || id != "green-aqua" {
		return content.PartnerGuide{}, fmt.Errorf("partner %q: %w", id, core.ErrNotFound)
	}
	return content.PartnerGuide{
		Name: "Green Aqua", Voice: "educational and trustworthy",
		ProductIntegration: "Show the product in a real scape.", CallToAction: "Shop the Green Aqua range",
		AffiliateLink: "https://greenaqua.hu/en/" + link.ProductID + "?utm_source=aquascene&utm_content=" + link.ContentID,
	}, nil
}

func TestPartnerGuidelinesAndListing(t *testing.T) {
	reg := &fakePartners{}
	db := tempDB(t)
	m, err := content.New(content.DefaultConfig(), nil, content.Deps{Store: db.Content(), Provider: content.BuiltinProvider{}, Partners: reg})
	if err != nil {
		t.Fatal(err)
	}
	svc := m.Service()
	ctx := context.Background()
	req := content.Request{Template: "partner_product_guide", Topic: "CO2 diffusers", Keywords: []string{"co2 diffuser"},
		Partnership: &content.Partnership{PartnerID: "green-aqua", ProductID: "GA-CO2-PRO-2L", ProductName: "CO2 Pro Set"}}
	c, err := svc.Generate(ctx, "aquascene", req, content.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pt := c.Request.Partnership
	wantLink := "https://greenaqua.hu/en/GA-CO2-PRO-2L?utm_source=aquascene&utm_content=" + c.ID
	if pt.Partner != "Green Aqua" || pt.AffiliateLink != wantLink || pt.CallToAction != "Shop the Green Aqua range" {
		t.Fatalf("stored partnership %+v, want the registered partner's name, guidelines and link %s", pt, wantLink)
	}
	if !strings.Contains(c.BodyMarkdown, wantLink) || !strings.Contains(c.BodyMarkdown, "Shop the Green Aqua range") {
		t.Fatalf("body lacks the partner's call to action and link:\n%s", c.BodyMarkdown)
	}
	prompt := content.BuildPrompt(&content.Template{Name: "x", Format: content.FormatArticle}, &c.Request, "", core.BrandGuidelines{})
	for _, want := range []string{"Voice for Green Aqua content: educational and trustworthy", "Product integration: Show the product in a real scape.", "Call to action: Shop the Green Aqua range"} {
		if !strings.Contains(prompt.User, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt.User)
		}
	}

	// A request's own values win over the partner's.
	own := req
	own.Partnership = &content.Partnership{PartnerID: "green-aqua", Partner: "GA", AffiliateLink: "https://greenaqua.hu/x?ref=a"}
	c2, err := svc.Generate(ctx, "aquascene", own, content.GenerateOptions{})
	if err != nil || c2.Request.Partnership.Partner != "GA" || c2.Request.Partnership.AffiliateLink != "https://greenaqua.hu/x?ref=a" {
		t.Fatalf("own values: %+v %v", c2.Request.Partnership, err)
	}
	if _, err := svc.Generate(ctx, "aquascene", newsletterRequest(), content.GenerateOptions{}); err != nil {
		t.Fatal(err)
	}

	unknown := req
	unknown.Partnership = &content.Partnership{PartnerID: "nobody"}
	_, err = svc.Generate(ctx, "aquascene", unknown, content.GenerateOptions{})
	var fe *core.FieldError
	if !errors.As(err, &fe) || fe.Path != "partnership.partner_id" || !strings.Contains(err.Error(), `no partner "nobody"`) {
		t.Fatalf("unknown partner: %v, want an error naming partnership.partner_id", err)
	}
	_, err = svc.CreateBatch(ctx, "aquascene", content.BatchRequest{Name: "partner guides", Requests: []content.Request{req, unknown}})
	if !errors.As(err, &fe) || fe.Path != "requests[1].partnership.partner_id" {
		t.Fatalf("batch with an unknown partner: %v", err)
	}

	tests := []struct {
		name, partner string
		want          int
	}{
		{"by partner id", "green-aqua", 2},
		{"by partner name", "Green Aqua", 1},
		{"another partner", "aquaflora", 0},
		{"no filter", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.List(ctx, "aquascene", content.Filter{Partner: tt.partner})
			if err != nil || len(got) != tt.want {
				t.Fatalf("List(partner=%q) = %d items, %v; want %d", tt.partner, len(got), err, tt.want)
			}
		})
	}
}
