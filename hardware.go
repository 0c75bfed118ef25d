package joule

import (
	"context"
	"regexp"
)

// HardwareKind says what a hardware model is.
type HardwareKind string

// Hardware kinds.
const (
	KindASIC      HardwareKind = "asic"       // a Bitcoin mining machine
	KindGPUServer HardwareKind = "gpu_server" // a server with several data-centre GPUs
)

// HardwareModel is a make of machine a site can run: an ASIC miner or a GPU server.
// Numbers are at the wall, at the stock power profile, as the vendor's spec sheet gives
// them; Sources names where each number came from.
type HardwareModel struct {
	ID     string       `json:"id"` // short slug used on the command line: "s21", "h100-sxm"
	Kind   HardwareKind `json:"kind"`
	Name   string       `json:"name"` // "Antminer S21"
	Vendor string       `json:"vendor"`

	// PowerW is the wall power at the stock profile; IdleW what the machine draws when
	// sleeping (ASIC) or powered on with idle GPUs (server).
	PowerW Watts `json:"power_w"`
	IdleW  Watts `json:"idle_w"`

	// HashrateTHs is the stock hashrate of an ASIC in TH/s; zero for GPU servers.
	HashrateTHs float64 `json:"hashrate_ths,omitempty"`

	// GPUs, GPUModel and GPUMemoryGB describe a GPU server; zero for ASICs.
	GPUs        int    `json:"gpus,omitempty"`
	GPUModel    string `json:"gpu_model,omitempty"`
	GPUMemoryGB int    `json:"gpu_memory_gb,omitempty"`

	// PriceUSD is a typical purchase price of one machine, for capex and payback.
	PriceUSD float64 `json:"price_usd"`

	// Sources maps a field name ("power_w", "price_usd", …) to where its value came from.
	Sources map[string]string `json:"sources,omitempty"`

	// Builtin is true for models of the embedded catalog, false for models a user declared.
	Builtin bool `json:"builtin"`
}

// EfficiencyJPerTH returns an ASIC's efficiency in joules per terahash (= W per TH/s).
// It is zero for a model without hashrate.
func (m *HardwareModel) EfficiencyJPerTH() float64 {
	if m.HashrateTHs <= 0 {
		return 0
	}
	return float64(m.PowerW) / m.HashrateTHs
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidSlug reports whether s can name a model, site or fleet: lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// Validate checks that the model is complete and physically sensible.
func (m *HardwareModel) Validate() error {
	switch {
	case !ValidSlug(m.ID):
		return Errorf(EINVALID, "model id %q: use lower-case letters, digits, '.', '_' or '-'", m.ID)
	case m.Name == "":
		return Errorf(EINVALID, "model %s: name is required", m.ID)
	case m.PowerW <= 0:
		return Errorf(EINVALID, "model %s: power_w must be positive", m.ID)
	case m.IdleW < 0 || m.IdleW > m.PowerW:
		return Errorf(EINVALID, "model %s: idle_w must be between 0 and power_w", m.ID)
	case !finite(m.PriceUSD) || m.PriceUSD < 0:
		return Errorf(EINVALID, "model %s: price_usd must be a number, not negative", m.ID)
	case !finite(m.HashrateTHs):
		return Errorf(EINVALID, "model %s: hashrate_ths must be a number", m.ID)
	}
	switch m.Kind {
	case KindASIC:
		if !(m.HashrateTHs > 0) {
			return Errorf(EINVALID, "model %s: an asic needs a positive hashrate_ths", m.ID)
		}
		if m.GPUs != 0 {
			return Errorf(EINVALID, "model %s: an asic has no gpus", m.ID)
		}
	case KindGPUServer:
		if m.GPUs <= 0 {
			return Errorf(EINVALID, "model %s: a gpu_server needs a positive gpus count", m.ID)
		}
		if m.HashrateTHs != 0 {
			return Errorf(EINVALID, "model %s: a gpu_server has no hashrate_ths", m.ID)
		}
	default:
		return Errorf(EINVALID, "model %s: kind must be %q or %q, not %q", m.ID, KindASIC, KindGPUServer, m.Kind)
	}
	return nil
}

// HardwareService finds and stores the hardware models users declare. The embedded
// catalog is not stored; callers that want every model merge the two.
type HardwareService interface {
	// Models returns the user-declared models ordered by ID.
	Models(ctx context.Context) ([]*HardwareModel, error)
	// Model returns one user-declared model, or ENOTFOUND.
	Model(ctx context.Context, id string) (*HardwareModel, error)
}

// ModelIndex is hardware models by ID.
type ModelIndex map[string]*HardwareModel

// Lookup finds a model by ID.
func (x ModelIndex) Lookup(id string) (*HardwareModel, bool) {
	m, ok := x[id]
	return m, ok
}

// ModelsByID indexes models by their ID.
func ModelsByID(models []*HardwareModel) ModelIndex {
	byID := make(ModelIndex, len(models))
	for _, m := range models {
		byID[m.ID] = m
	}
	return byID
}
