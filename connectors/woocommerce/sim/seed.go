package sim

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// DefaultCategories returns the simulated store's product categories.
func DefaultCategories() []Term {
	return []Term{
		{15, "Substrates", "substrates"}, {16, "Lighting", "lighting"}, {17, "CO2 Systems", "co2-systems"},
		{18, "Filtration", "filtration"}, {19, "Aquatic Plants", "aquatic-plants"}, {20, "Hardscape", "hardscape"},
		{21, "Aquariums", "aquariums"}, {22, "Tools", "tools"},
	}
}

// DefaultTags returns the simulated store's product tags.
func DefaultTags() []Term {
	return []Term{{30, "Nano", "nano"}, {31, "Beginner friendly", "beginner-friendly"}, {32, "High tech", "high-tech"}, {33, "Green Aqua", "green-aqua"}}
}

// SeedProduct is one product of the simulated AquaScene shop.
type SeedProduct struct {
	Name, SKU, RegularPrice, SalePrice, ShortDescription, Description, StockStatus string
	Categories, Tags                                                               []int
	Stock                                                                          int
	Featured                                                                       bool
}

// longDescription is long enough (over 500 characters) that the review flow leaves the
// product alone.
const longDescription = `<p>%s has been part of our own tanks for years, and this page is the review we wish we had read before buying. ` +
	`It covers what the product is for, how it behaves in a planted aquarium, and the small things that make the difference between a tank ` +
	`that thrives and one that struggles: setup, maintenance, how it works together with lighting and CO2, and where it fits in a nature ` +
	`aquarium, a Dutch layout or an iwagumi.</p><p>We measured, photographed and compared it against the alternatives our customers ask ` +
	`about most, and we keep this description up to date when the manufacturer changes the product.</p>`

// SeedProducts returns the AquaScene catalogue New stocks: aquascaping products, five of
// them with short or missing descriptions so that the seed's "write a review for products
// with short descriptions" flow has work.
func SeedProducts() []SeedProduct {
	long := func(name string) string { return fmt.Sprintf(longDescription, name) }
	return []SeedProduct{
		{Name: "ADA Aqua Soil Amazonia Ver.2 9L", SKU: "ADA-AS-AMZ2-9", RegularPrice: "39.90", ShortDescription: "<p>Nutrient-rich soil for planted tanks.</p>",
			Description: long("ADA Aqua Soil Amazonia Ver.2"), Categories: []int{15}, Tags: []int{32}, Stock: 42, Featured: true},
		{Name: "Tropica Aquarium Soil 3L", SKU: "TROP-SOIL-3", RegularPrice: "19.50", ShortDescription: "<p>Easy soil for beginners.</p>",
			Description: "<p>A soil substrate.</p>", Categories: []int{15}, Tags: []int{31, 30}, Stock: 18},
		{Name: "Twinstar Light 600SA", SKU: "TS-600SA", RegularPrice: "289.00", SalePrice: "259.00", ShortDescription: "<p>Full-spectrum LED for 60 cm tanks.</p>",
			Description: long("The Twinstar Light 600SA"), Categories: []int{16}, Tags: []int{32}, Stock: 7, Featured: true},
		{Name: "Chihiros WRGB II 60", SKU: "CH-WRGB2-60", RegularPrice: "219.00", ShortDescription: "<p>RGB LED with app control.</p>",
			Description: "", Categories: []int{16}, Tags: []int{32}, Stock: 11},
		{Name: "CO2Art Pro-SE Dual Stage Regulator", SKU: "CO2ART-PROSE", RegularPrice: "149.95", ShortDescription: "<p>Dual stage regulator with solenoid.</p>",
			Description: long("The CO2Art Pro-SE regulator"), Categories: []int{17}, Tags: []int{32}, Stock: 15},
		{Name: "Dennerle Bio CO2 Set", SKU: "DEN-BIOCO2", RegularPrice: "34.99", ShortDescription: "<p>Yeast CO2 for nano tanks.</p>",
			Description: "<p>Simple CO2 for small tanks. No cylinder needed.</p>", Categories: []int{17}, Tags: []int{30, 31}, Stock: 25},
		{Name: "Oase BioMaster Thermo 250", SKU: "OASE-BMT-250", RegularPrice: "259.00", ShortDescription: "<p>Canister filter with heater.</p>",
			Description: long("The Oase BioMaster Thermo 250"), Categories: []int{18}, Stock: 5},
		{Name: "Eheim Classic 150", SKU: "EHEIM-CL-150", RegularPrice: "79.00", ShortDescription: "<p>Reliable canister filter.</p>",
			Description: "<p>Quiet.</p>", Categories: []int{18}, Tags: []int{31}, Stock: 0, StockStatus: "outofstock"},
		{Name: "Monte Carlo In-Vitro Cup", SKU: "TROP-MC-CUP", RegularPrice: "8.90", ShortDescription: "<p>Carpeting plant, tissue culture.</p>",
			Description: long("Micranthemum 'Monte Carlo'"), Categories: []int{19}, Tags: []int{31}, Stock: 120},
		{Name: "Seiryu Stone 10 kg", SKU: "HS-SEIRYU-10", RegularPrice: "44.00", ShortDescription: "<p>Grey stone for iwagumi.</p>",
			Description: long("Seiryu stone"), Categories: []int{20}, Stock: 30},
		{Name: "Green Aqua Spider Wood M", SKU: "GA-SPIDER-M", RegularPrice: "24.90", ShortDescription: "<p>Branchy wood, medium.</p>",
			Description: "", Categories: []int{20}, Tags: []int{33}, Stock: 14},
		{Name: "Dennerle Nano Cube 30L", SKU: "DEN-NC-30", RegularPrice: "89.99", ShortDescription: "<p>Glass cube for nano scapes.</p>",
			Description: long("The Dennerle Nano Cube 30L"), Categories: []int{21}, Tags: []int{30, 31}, Stock: 9},
		{Name: "ADA Pro-Scissors Wave", SKU: "ADA-SCIS-WAVE", RegularPrice: "54.00", ShortDescription: "<p>Curved trimming scissors.</p>",
			Description: long("ADA Pro-Scissors Wave"), Categories: []int{22}, Stock: 12},
	}
}

// seedStore stocks the catalogue and four orders; the caller is New.
func (s *Server) seedStore() {
	start := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	for i, sp := range SeedProducts() {
		t := start.Add(time.Duration(i) * 24 * time.Hour)
		p := newProduct(s.nextID, t)
		s.nextID++
		p.Name, p.Slug, p.SKU, p.RegularPrice, p.SalePrice = sp.Name, slugify(sp.Name), sp.SKU, sp.RegularPrice, sp.SalePrice
		p.ShortDescription, p.Description, p.Featured = sp.ShortDescription, sp.Description, sp.Featured
		p.ManageStock = true
		stock := sp.Stock
		p.StockQuantity = &stock
		if sp.StockStatus != "" {
			p.StockStatus = sp.StockStatus
		}
		for _, c := range sp.Categories {
			for _, t := range s.categories {
				if t.ID == c {
					p.Categories = append(p.Categories, t)
				}
			}
		}
		for _, g := range sp.Tags {
			for _, t := range s.tags {
				if t.ID == g {
					p.Tags = append(p.Tags, t)
				}
			}
		}
		s.nextMeta++
		p.Images = []Image{{ID: s.nextMeta, Src: "https://shop.aquascene.bg/wp-content/uploads/" + p.Slug + ".jpg", Name: p.Name, Alt: p.Name}}
		s.products[p.ID] = p
	}
	orders := []struct {
		email, first, last, status string
		items                      map[int]int
		day                        int
	}{
		{"ana.petrova@example.com", "Ana", "Petrova", "completed", map[int]int{700: 1, 708: 6}, 20},
		{"georgi.ivanov@example.com", "Georgi", "Ivanov", "processing", map[int]int{702: 1}, 24},
		{"maria.dimitrova@example.com", "Maria", "Dimitrova", "completed", map[int]int{704: 1, 709: 2, 711: 1}, 26},
		{"ana.petrova@example.com", "Ana", "Petrova", "on-hold", map[int]int{712: 1}, 28},
	}
	for _, o := range orders {
		now := s.now
		at := start.Add(time.Duration(o.day) * 24 * time.Hour)
		s.now = func() time.Time { return at }
		var lines []map[string]any
		for _, id := range sortedIDs(o.items) {
			lines = append(lines, map[string]any{"product_id": id, "quantity": o.items[id]})
		}
		body := mustRaw(map[string]any{"status": o.status, "payment_method": "stripe", "payment_method_title": "Credit card",
			"billing":    map[string]any{"first_name": o.first, "last_name": o.last, "email": o.email, "city": "Sofia", "country": "BG"},
			"line_items": lines})
		if _, item := s.newOrder(body); item != nil {
			panic(fmt.Sprintf("woocommerce sim: seeding orders: %v", item))
		}
		s.now = now
	}
}

func sortedIDs(m map[int]int) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// mustRaw encodes a literal body as the API would receive it.
func mustRaw(v map[string]any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, x := range v {
		b, err := json.Marshal(x)
		if err != nil {
			panic(err)
		}
		out[k] = b
	}
	return out
}
