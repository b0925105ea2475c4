package bolt

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Records written before the content engine had records of its own decode and encode back
// to the same JSON, so that rewriting one loses nothing.
func TestContentRecordsKeepTheirJSON(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		trip func(raw []byte) (any, error)
	}{
		{"content", `{"id":"gen-1","request_id":"r","batch_id":"b","status":"failed",` +
			`"request":{"template":"partner_product_guide","topic":"CO2","audience":"beginners","keywords":["co2"],"instructions":"i","brand_voice":"v",` +
			`"partnership":{"partner":"Green Aqua","product_id":"p","product_name":"n","category":"c","description":"d","price_range":"1-2","key_benefits":["k"],"affiliate_link":"https://x.example/"},` +
			`"ecommerce":{"product_id":"703","product_url":"https://shop.example/p/703","price":"219.00","availability":"instock"},"request_id":"r"},` +
			`"template":"partner_product_guide","format":"article","title":"t","meta_description":"m","body_markdown":"b","body_html":"<p>b</p>\n","hashtags":["h"],"caption":"c","word_count":1,` +
			`"quality":{"score":1,"breakdown":[{"name":"readability","score":1,"weight":0.25,"value":"v","target":"t"}],"flesch_reading_ease":1,"keyword_density":1,"keyword_counts":{"co2":1},"stats":{"words":1,"sentences":1,"syllables":1}},` +
			`"findings":[{"kind":"pii","type":"email","severity":"error","message":"m","match":"a***","offset":3}],"provider":"openai","model":"gpt-4o-mini",` +
			`"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"cost_usd":0.5},"attempts":2,"generation_time_seconds":1.5,` +
			`"error_type":"validation_failed","error_message":"e","retry_possible":true,"retry_count":1,"idempotency_key":"api:k",` +
			`"created_at":"2025-08-06T12:00:00Z","updated_at":"2025-08-06T12:00:01Z","completed_at":"2025-08-06T12:00:02Z"}`,
			func(raw []byte) (any, error) {
				var r contentRecord
				err := json.Unmarshal(raw, &r)
				c := r.content()
				return toContentRecord(&c), err
			}},
		{"batch", `{"id":"batch-1","name":"n","status":"completed_with_errors","max_concurrent":3,"progress":{"completed":1,"failed":1,"total":2,"percent":100},` +
			`"results":[{"index":0,"content_id":"gen-1","template":"t","topic":"x","status":"completed","title":"T","quality_score":7.5,"word_count":9},` +
			`{"index":1,"content_id":"gen-2","template":"t","topic":"y","status":"failed","error_type":"auth_error","error":"401"}],` +
			`"created_at":"2025-08-06T12:00:00.000Z","updated_at":"2025-08-06T12:00:01.250Z","completed_at":"2025-08-06T12:00:01.250Z"}`,
			func(raw []byte) (any, error) {
				var r batchRecord
				if err := json.Unmarshal(raw, &r); err != nil {
					return nil, err
				}
				b, err := r.batch()
				return toBatchRecord(&b), err
			}},
		{"template", `{"id":"weekly","name":"Weekly","description":"d","format":"caption","structure":[{"id":"Intro","title":"Intro","guidance":"g"}],` +
			`"brand_guidelines":{"tone":"Friendly","expertise_level":"beginner","word_count_range":{"min":100,"max":200},"include_safety_tips":true},` +
			`"seo_settings":{"keyword_density":{"min":2,"max":3},"headings_required":false,"meta_description":true},"limits":{"max_chars":2200,"max_hashtags":30,"min_hashtags":8}}`,
			func(raw []byte) (any, error) {
				var r templateRecord
				err := json.Unmarshal(raw, &r)
				tpl := r.template()
				return toTemplateRecord(&tpl), err
			}},
		{"usage", `{"generations":4,"failures":1,"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"cost_usd":0.75}`,
			func(raw []byte) (any, error) {
				var r usageTotalsRecord
				err := json.Unmarshal(raw, &r)
				return toUsageTotalsRecord(r.usage()), err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := tc.trip([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := json.Unmarshal([]byte(tc.raw), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("re-encoded\n%s\nwant\n%s", again, tc.raw)
			}
		})
	}
}
