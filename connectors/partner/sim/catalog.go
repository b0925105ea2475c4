package sim

import (
	"strconv"
	"strings"
)

// Product is one catalog entry in Green Aqua's API shape, which differs from the hub's
// product shape on purpose: the connector's field mapping turns one into the other.
type Product struct {
	SKU          string       `json:"sku"`
	Title        string       `json:"title"`
	Category     Category     `json:"category"`
	Summary      string       `json:"summary"`
	Price        Price        `json:"price"`
	Highlights   []Highlight  `json:"highlights"`
	Links        Links        `json:"links"`
	Availability Availability `json:"availability"`
	SEO          SEO          `json:"seo"`
	UpdatedAt    string       `json:"updated_at"`
}

// Category is a product's category.
type Category struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Price is a product's price span across its variants.
type Price struct {
	From     float64 `json:"from"`
	To       float64 `json:"to"`
	Currency string  `json:"currency"`
	Label    string  `json:"label"`
}

// Highlight is one selling point.
type Highlight struct {
	Text string `json:"text"`
}

// Links are the product's pages.
type Links struct {
	Product   string `json:"product"`
	Affiliate string `json:"affiliate"`
}

// Availability is the stock state.
type Availability struct {
	InStock  bool `json:"in_stock"`
	Quantity int  `json:"quantity"`
}

// SEO holds search keywords.
type SEO struct {
	Keywords []string `json:"keywords"`
}

func product(sku, title, slug, name, summary string, from, to float64, stock int, highlights []string, keywords ...string) Product {
	p := Product{SKU: sku, Title: title, Category: Category{slug, name}, Summary: summary,
		Price:        Price{From: from, To: to, Currency: "EUR", Label: priceLabel(from, to)},
		Links:        Links{Product: "https://greenaqua.hu/en/" + slug + "/" + lowerDash(sku), Affiliate: "https://greenaqua.hu/en/" + slug + "/" + lowerDash(sku) + "?ref=aquascene"},
		Availability: Availability{InStock: stock > 0, Quantity: stock}, SEO: SEO{Keywords: keywords},
		UpdatedAt: "2025-07-28T09:00:00Z"}
	for _, h := range highlights {
		p.Highlights = append(p.Highlights, Highlight{Text: h})
	}
	return p
}

func priceLabel(from, to float64) string {
	if from == to {
		return "€" + money(from)
	}
	return "€" + money(from) + "–€" + money(to)
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func lowerDash(s string) string { return strings.ToLower(s) }

// Catalog returns the Green Aqua catalog the simulator serves, in its stable order.
func Catalog() []Product {
	return []Product{
		product("GA-CO2-PRO-2L", "Green Aqua CO2 Pro Set 2 L", "co2-systems", "CO2 Systems", "Complete pressurised CO2 system with a dual-stage regulator, solenoid and inline diffuser for tanks up to 300 litres.", 189, 249, 14, []string{"Dual-stage regulator with no end-of-tank dump", "Silent solenoid for night-time shut-off", "Refillable 2 L cylinder"}, "co2 system", "pressurised co2", "planted tank co2"),
		product("GA-CO2-REG-DS", "Dual Stage CO2 Regulator", "co2-systems", "CO2 Systems", "Precision dual-stage regulator with needle valve and bubble counter.", 129, 129, 22, []string{"Stable working pressure", "Fine needle valve", "Integrated bubble counter"}, "co2 regulator", "dual stage regulator"),
		product("GA-CO2-DIFF-IN", "Inline CO2 Diffuser 16/22", "co2-systems", "CO2 Systems", "Inline ceramic diffuser for canister filter hoses; keeps the tank free of equipment.", 24.9, 29.9, 40, []string{"Nothing inside the tank", "Fine mist for high dissolution"}, "co2 diffuser", "inline diffuser"),
		product("GA-CO2-DROP", "CO2 Drop Checker with 4 dKH Solution", "co2-systems", "CO2 Systems", "Glass drop checker with reference solution to read CO2 levels at a glance.", 14.5, 14.5, 0, []string{"Colour shows CO2 level", "Reference 4 dKH solution included"}, "drop checker", "co2 monitoring"),
		product("GA-SOIL-AMZ-9", "ADA Aqua Soil Amazonia 9 L", "substrates", "Substrates", "Nutrient-rich active soil that lowers pH and hardness, the classic base of a Nature Aquarium.", 39.9, 39.9, 58, []string{"Lowers pH and KH for soft-water plants", "Rich in nutrients for the first months", "Granules keep their shape"}, "aqua soil", "aquarium substrate", "amazonia"),
		product("GA-SOIL-AMZ-3", "ADA Aqua Soil Amazonia 3 L", "substrates", "Substrates", "The 3 litre bag of Amazonia for nano tanks and top-ups.", 17.9, 17.9, 31, []string{"Ideal for nano tanks", "Same recipe as the 9 L bag"}, "aqua soil", "nano tank substrate"),
		product("GA-SAND-COS", "Cosmetic Sand Bright 2 kg", "substrates", "Substrates", "Fine bright sand for foreground paths and island layouts.", 8.9, 8.9, 75, []string{"Inert, does not change water values", "Washed and dust-free"}, "aquascaping sand", "cosmetic sand"),
		product("GA-POWER-SAND", "Power Sand Advance M 6 L", "substrates", "Substrates", "Porous base layer enriched with organic nutrients and bacteria, laid under aqua soil.", 34.9, 34.9, 12, []string{"Long-term nutrient supply", "Improves water circulation in the substrate"}, "substrate additive", "power sand"),
		product("GA-PLT-MONTE", "Monte Carlo (Micranthemum tweediei) in vitro", "plants", "Plants", "Fast-spreading carpeting plant, easier than Hemianthus callitrichoides.", 9.9, 9.9, 120, []string{"Dense bright-green carpet", "Snail- and algae-free in vitro culture", "Grows in medium light"}, "carpet plant", "monte carlo", "in vitro plants"),
		product("GA-PLT-HCCUBA", "Hemianthus callitrichoides 'Cuba' in vitro", "plants", "Plants", "The smallest carpeting stem plant; needs strong light and CO2.", 10.9, 10.9, 64, []string{"Finest carpet texture", "Pest-free culture"}, "hc cuba", "carpet plant"),
		product("GA-PLT-BUCE", "Bucephalandra 'Brownie Ghost' on lava", "plants", "Plants", "Slow-growing rhizome plant attached to lava rock, for hardscape details.", 19.9, 19.9, 9, []string{"Shimmering leaves", "Grows on rock and wood", "Low maintenance"}, "bucephalandra", "epiphyte"),
		product("GA-PLT-ROTALA", "Rotala rotundifolia bunch", "plants", "Plants", "Colourful stem plant that turns pink to red under strong light.", 4.9, 4.9, 0, []string{"Red tips under strong light", "Fast background growth"}, "stem plant", "rotala"),
		product("GA-PLT-MOSS", "Christmas Moss in vitro", "plants", "Plants", "Triangular moss for wood, walls and trees.", 8.5, 8.5, 44, []string{"Grows in low light", "Ties easily to wood"}, "aquarium moss", "christmas moss"),
		product("GA-LED-WRGB2-60", "Chihiros WRGB II 60 LED", "lights", "Lights", "Full-spectrum RGB LED with app control for 60 cm tanks.", 159, 159, 18, []string{"WRGB spectrum makes reds glow", "Bluetooth dimming and sunrise", "Slim aluminium body"}, "aquarium led", "planted tank light"),
		product("GA-LED-WRGB2-90", "Chihiros WRGB II 90 LED", "lights", "Lights", "The 90 cm WRGB II for larger Nature Aquariums.", 229, 229, 6, []string{"Even coverage for 90 cm", "App-controlled schedule"}, "aquarium led", "planted tank light"),
		product("GA-LED-UNIV", "Universal WRGB LED 30–45 cm", "lights", "Lights", "Compact clip-on LED for nano and small tanks.", 69, 89, 27, []string{"Clip-on mount", "Two sizes"}, "nano light", "aquarium led"),
		product("GA-FLT-OASE", "Oase BioMaster Thermo 250", "filtration", "Filtration", "Canister filter with pre-filter and built-in heater for tanks to 250 litres.", 219, 219, 11, []string{"Pre-filter keeps the media clean longer", "Built-in heater, no glass heater in view"}, "canister filter", "aquarium filter"),
		product("GA-FLT-LILY", "Glass Lily Pipe Set 13 mm", "filtration", "Filtration", "Clear glass inflow and outflow pipes for a clean look.", 39.9, 49.9, 20, []string{"Invisible in the tank", "Surface skimming outflow"}, "lily pipe", "glass pipes"),
		product("GA-FERT-SPEC", "Tropica Specialised Nutrition 300 ml", "fertilisers", "Fertilisers", "Complete liquid fertiliser with nitrogen and phosphate for tanks with CO2.", 12.9, 12.9, 90, []string{"Macro and micro nutrients", "For high-tech tanks with CO2"}, "liquid fertiliser", "plant nutrition"),
		product("GA-FERT-ROOT", "Root Tabs 10 pcs", "fertilisers", "Fertilisers", "Slow-release tablets for heavy root feeders.", 6.9, 6.9, 55, []string{"Feeds roots for three months", "No water column nutrients"}, "root tabs", "substrate fertiliser"),
		product("GA-HARD-SEIRYU", "Seiryu Stone 20 kg mix", "hardscape", "Hardscape", "Grey stones with white veins, the classic Iwagumi hardscape.", 59, 59, 7, []string{"Sharp textures for Iwagumi", "Mixed sizes"}, "seiryu stone", "iwagumi"),
		product("GA-HARD-SPIDER", "Spider Wood L", "hardscape", "Hardscape", "Branchy wood for tree-style layouts.", 24.9, 34.9, 15, []string{"Fine branches", "Soaked and sinking"}, "spider wood", "aquascape wood"),
		product("GA-TOOL-SCISS", "Curved Scissors 25 cm", "tools", "Tools", "Stainless curved scissors for trimming carpets.", 19.9, 19.9, 33, []string{"Reaches flat across the carpet", "Stainless steel"}, "aquascaping tools", "trimming scissors"),
		product("GA-TOOL-TWEEZ", "Straight Tweezers 30 cm", "tools", "Tools", "Long tweezers for planting stems and in vitro portions.", 14.9, 14.9, 41, []string{"Precise tips", "Long reach"}, "planting tweezers", "aquascaping tools"),
	}
}
