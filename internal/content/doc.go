// Package content is aquahub's content engine: it turns a generation request (template,
// topic, audience, keywords, instructions, partnership data, the shop product's
// e_commerce_data) into a scored and validated article, caption, guide or product review.
//
// The pieces, in the order a request meets them:
//
//   - Templates (template.go) describe what to write: the sections, the brand guidelines
//     (tone, expertise level, word count range, safety tips) and the SEO settings (keyword
//     density range, headings, meta description). Four ship embedded in the binary
//     (templates/*.yaml); tenants may store their own through the API.
//   - Prompts (prompt.go) are built from the tenant's brand voice and the template (system
//     prompt) and from the request (user prompt).
//   - A Provider writes the draft. OpenAIProvider speaks the OpenAI chat completions API
//     through github.com/sashabaranov/go-openai, so any compatible server works.
//     BuiltinProvider is not an AI: it is a deterministic template filler that assembles
//     sentences from fixed phrase banks so that every flow works offline and in tests.
//   - Scoring (score.go) rates the draft 0–10 with a breakdown; validation (validate.go)
//     looks for personal data, prohibited phrases and a missing affiliate link.
//   - Generator (generator.go) runs those steps for one request; Service (service.go) adds
//     persistence through the Store interface (store.go, implemented by the storage
//     package), asynchronous work and batches that survive a restart, and the
//     content.generation.* events, written to an outbox with the state they report so that a
//     crash does not lose them.
//   - Module (module.go) makes it a hub feature: New(Config, tenants, Deps), the rule step
//     kind `generate` (step.go), the routes (routes*.go, with the sdk/api types; convert.go
//     converts) and the background work (Start, Stop).
package content
