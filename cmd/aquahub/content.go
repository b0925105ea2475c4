package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/spf13/cobra"
)

func newContentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "content",
		Short: "Generate content locally with the configured writer",
	}
	cmd.AddCommand(newContentGenerateCmd(), newContentTemplatesCmd())
	return cmd
}

type contentGenerateFlags struct {
	config        string
	tenant        string
	template      string
	topic         string
	audience      string
	keywords      string
	instructions  string
	partner       string
	product       string
	affiliateLink string
	asJSON        bool
}

func newContentGenerateCmd() *cobra.Command {
	var f contentGenerateFlags
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write one article or caption and print it with its quality score and findings",
		Long: `Generates one piece of content in this process, without a running hub, and prints the
Markdown, the quality score with its breakdown, and the validation findings.

With no configuration the builtin writer is used: an offline, deterministic template filler
(not an AI) that needs no network and no key. With llm.provider: openai in --config (or
AQUAHUB_LLM_PROVIDER=openai and AQUAHUB_LLM_BASE_URL), any OpenAI-compatible server writes it.

Exits with status 1 when the generation fails (validation, minimum score, provider error);
the draft and its findings are still printed.`,
		Example: `  aquahub content generate --template newsletter_article --topic "Beginner aquascaping guide" \
      --audience beginners --keywords "planted aquarium,aquascaping"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(f.config, nil)
			if err != nil {
				return err
			}
			req := content.Request{
				Template: f.template, Topic: f.topic, Audience: f.audience, Instructions: f.instructions,
			}
			for _, k := range strings.Split(f.keywords, ",") {
				if k = strings.TrimSpace(k); k != "" {
					req.Keywords = append(req.Keywords, k)
				}
			}
			if f.partner != "" || f.affiliateLink != "" || f.product != "" {
				req.Partnership = &content.Partnership{Partner: f.partner, ProductName: f.product, AffiliateLink: f.affiliateLink}
			}
			if err := req.Validate(""); err != nil {
				return fmt.Errorf("--%s", strings.ReplaceAll(err.Error(), "partnership.", ""))
			}
			gen := &content.Generator{
				Provider: newContentProvider(cfg.LLM), Templates: content.BuiltinTemplateSource{}, Policies: contentPolicies(cfg),
			}
			c, genErr := gen.Generate(cmd.Context(), f.tenant, req)
			var ge *content.GenerationError
			if genErr != nil && (!errors.As(genErr, &ge) || c.BodyMarkdown == "") {
				return genErr
			}
			if f.asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(c); err != nil {
					return err
				}
			} else {
				printContent(cmd.OutOrStdout(), &c)
			}
			if genErr != nil {
				return fmt.Errorf("generation failed: %w", genErr)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "configuration file (YAML); without it the builtin writer is used")
	fl.StringVar(&f.tenant, "tenant", "aquascene", "tenant whose brand voice and prohibited phrases apply")
	fl.StringVar(&f.template, "template", "newsletter_article", "template id (see `aquahub content templates`)")
	fl.StringVar(&f.topic, "topic", "", "what to write about (required)")
	fl.StringVar(&f.audience, "audience", "", "who it is for, e.g. beginners (default: the template's expertise level)")
	fl.StringVar(&f.keywords, "keywords", "", "comma-separated SEO keywords")
	fl.StringVar(&f.instructions, "instructions", "", "extra instructions for the writer (the builtin writer ignores them)")
	fl.StringVar(&f.partner, "partner", "", "partner name for partnership content, e.g. \"Green Aqua\"")
	fl.StringVar(&f.product, "product", "", "partner product to feature")
	fl.StringVar(&f.affiliateLink, "affiliate-link", "", "affiliate link that must appear in the text")
	fl.BoolVar(&f.asJSON, "json", false, "print the stored form as JSON")
	_ = cmd.MarkFlagRequired("topic")
	return cmd
}

func printContent(w io.Writer, c *content.Content) {
	body := c.BodyMarkdown
	if c.Caption != "" {
		body = c.Caption
	}
	fmt.Fprintln(w, strings.TrimRight(body, "\n"))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "---")
	if c.MetaDescription != "" {
		fmt.Fprintf(w, "meta description: %s\n", c.MetaDescription)
	}
	fmt.Fprintf(w, "writer: %s (%s)  words: %d", c.Provider, c.Model, c.WordCount)
	if c.Usage.TotalTokens > 0 {
		fmt.Fprintf(w, "  tokens: %d  cost: $%.4f", c.Usage.TotalTokens, c.Usage.CostUSD)
	}
	fmt.Fprintln(w)
	if q := c.Quality; q != nil {
		fmt.Fprintf(w, "quality score: %.1f/10\n", q.Score)
		for _, comp := range q.Breakdown {
			if comp.Weight == 0 {
				fmt.Fprintf(w, "  %-17s   n/a   %s\n", comp.Name, comp.Value)
				continue
			}
			fmt.Fprintf(w, "  %-17s %5.1f   %s (target %s, weight %.0f%%)\n", comp.Name, comp.Score, comp.Value, comp.Target, comp.Weight*100)
		}
	}
	if len(c.Findings) == 0 {
		fmt.Fprintln(w, "findings: none")
	} else {
		fmt.Fprintln(w, "findings:")
		for _, f := range c.Findings {
			line := fmt.Sprintf("  [%s] %s", f.Severity, f.Message)
			if f.Match != "" {
				line += fmt.Sprintf(" (%s)", f.Match)
			}
			fmt.Fprintln(w, line)
		}
	}
	if c.Status == content.StatusFailed {
		fmt.Fprintf(w, "status: failed (%s): %s\n", c.ErrorType, c.ErrorMessage)
	}
}

func newContentTemplatesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "List the builtin templates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ts := content.BuiltinTemplates()
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(ts)
			}
			for _, t := range ts {
				var sections []string
				for _, s := range t.Structure {
					sections = append(sections, s.ID)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-22s %-8s words %-10s density %-6s %s\n", t.ID, t.Format,
					t.Brand.WordCount, t.SEO.KeywordDensity.String()+"%", strings.Join(sections, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
