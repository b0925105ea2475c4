package config

import "fmt"

// applyFeatureDefaults and validateFeatures connect the feature sections (connectors.go,
// llm.go, webhooks.go) to Default and Validate. Each section implements setDefaults and
// validate(path) in its own file.
func applyFeatureDefaults(c *Config) {
	c.Connectors.setDefaults()
	c.LLM.setDefaults()
	c.Webhooks.setDefaults()
}

func validateFeatures(c *Config) []error {
	var errs []error
	errs = append(errs, c.Connectors.validate("connectors")...)
	errs = append(errs, c.LLM.validate("llm")...)
	errs = append(errs, c.Webhooks.validate("webhooks")...)
	for i, t := range c.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		for name, tc := range t.Connectors {
			errs = append(errs, tc.validate(fmt.Sprintf("%s.connectors.%s", p, name))...)
		}
		for name, s := range t.Sources {
			errs = append(errs, s.validate(fmt.Sprintf("%s.sources.%s", p, name))...)
		}
		errs = append(errs, t.Content.validate(p+".content")...)
	}
	return errs
}
