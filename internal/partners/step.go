package partners

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// AttributeKind is the rule step kind `attribute_revenue`: it records an order attributed
// to a content piece featuring a partner, the seed's partner_attribution, from a
// partner.revenue.attributed event:
//
//   - id: attribute
//     attribute_revenue:
//     content_id: ${{ event.data.content_id }}
//     order_id: ${{ event.data.order_id }}
//     amount: ${{ event.data.amount }}
//     currency: ${{ event.data.currency }}
//
// Input: content_id, order_id, amount (at least 0) and currency (the partner's) are
// required; partner_id defaults to the content's partner; ordered_at is an RFC 3339 time.
// An order id the partner has attributed before is not counted again: the output says
// recorded false, duplicate true, and carries the first attribution. Output: recorded,
// duplicate, partner_id, content_id, order_id, amount, currency.
type AttributeKind struct{ m *Module }

// Syntax implements core.StepKind.
func (AttributeKind) Syntax() core.StepSyntax { return core.StepSyntax{Name: "attribute_revenue"} }

// Check implements core.StepKind.
func (AttributeKind) Check(def core.StepDef) error {
	_, _, err := attributionInput(def.Literals(), false)
	return err
}

// Execute implements core.StepKind.
func (k AttributeKind) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	partnerID, a, err := attributionInput(call.Input, true)
	if err != nil {
		return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: err}
	}
	got, recorded, err := k.m.Attribute(ctx, call.Tenant, partnerID, a)
	if err != nil {
		var fe *core.FieldError
		if errors.As(err, &fe) {
			return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: err}
		}
		return core.StepResult{}, err
	}
	return core.StepResult{Output: map[string]any{
		"recorded": recorded, "duplicate": !recorded, "partner_id": got.PartnerID, "content_id": got.ContentID,
		"order_id": got.OrderID, "amount": got.Amount, "currency": got.Currency,
	}}, nil
}

var attributionFields = []string{"partner_id", "content_id", "order_id", "amount", "currency", "ordered_at"}

// attributionInput reads the step's input; nil values are unknown until the step runs.
func attributionInput(in map[string]any, complete bool) (string, Attribution, error) {
	var a Attribution
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if !slices.Contains(attributionFields, k) {
			return "", a, core.Invalid(k, "unknown field (want %s)", strings.Join(attributionFields, ", "))
		}
	}
	for _, k := range []string{"content_id", "order_id", "amount", "currency"} {
		if v, ok := in[k]; !ok || complete && (v == nil || v == "") {
			return "", a, core.Invalid(k, "required")
		}
	}
	str := func(k string) (string, error) {
		v, ok := in[k]
		if !ok || v == nil {
			return "", nil
		}
		switch t := v.(type) {
		case string:
			return strings.TrimSpace(t), nil
		case float64:
			if k == "order_id" && t == math.Trunc(t) {
				// Shops number their orders; a number is as good an id as its digits.
				return formatInt(t), nil
			}
		}
		return "", core.Invalid(k, "must be a string (got %T)", v)
	}
	partnerID, err := str("partner_id")
	if err != nil {
		return "", a, err
	}
	if a.ContentID, err = str("content_id"); err != nil {
		return "", a, err
	}
	if a.OrderID, err = str("order_id"); err != nil {
		return "", a, err
	}
	if len(a.OrderID) > 200 || strings.ContainsFunc(a.OrderID, func(r rune) bool { return r < 0x20 }) {
		return "", a, core.Invalid("order_id", "must be at most 200 characters without control characters")
	}
	if a.Currency, err = str("currency"); err != nil {
		return "", a, err
	}
	if a.Currency != "" {
		a.Currency = strings.ToUpper(a.Currency)
		if !currencyPattern.MatchString(a.Currency) {
			return "", a, core.Invalid("currency", "must be an ISO 4217 code such as EUR (got %q)", a.Currency)
		}
	}
	if v, ok := in["amount"]; ok && v != nil {
		f, isNum := v.(float64)
		if !isNum || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", a, core.Invalid("amount", "must be a number of at least 0 (got %v)", v)
		}
		a.Amount = f
	}
	at, err := str("ordered_at")
	if err != nil {
		return "", a, err
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return "", a, core.Invalid("ordered_at", "must be an RFC 3339 time (got %q)", at)
		}
		a.OrderedAt = t.UTC()
	}
	return partnerID, a, nil
}

func formatInt(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// sortAttributions orders attributions newest order first (by order time, then recording).
func sortAttributions(list []Attribution) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		ta, tb := a.OrderedAt, b.OrderedAt
		if ta.IsZero() {
			ta = a.RecordedAt
		}
		if tb.IsZero() {
			tb = b.RecordedAt
		}
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
		return a.OrderID > b.OrderID
	})
}

var _ core.StepKind = AttributeKind{}
