package joule

import "context"

// Manifest is a declaration of models, sites and their fleets, as `joule apply -f`
// reads it. Applying a manifest makes the store match it: declared sites and models
// are created or updated, the fleets of each declared site become exactly the declared
// ones, and nothing else is touched. Applying the same manifest twice changes nothing.
type Manifest struct {
	Models []*HardwareModel `json:"models,omitempty"`
	Sites  []*Site          `json:"sites,omitempty"`
	Fleets []*Fleet         `json:"fleets,omitempty"`
}

// ChangeAction says what applying a manifest did to one object.
type ChangeAction string

// Change actions.
const (
	Created   ChangeAction = "created"
	Updated   ChangeAction = "updated"
	Unchanged ChangeAction = "unchanged"
	Deleted   ChangeAction = "deleted"
)

// Change is what applying a manifest did to one object.
type Change struct {
	Kind   string       `json:"kind"` // "model", "site" or "fleet"
	Name   string       `json:"name"` // fleets are "site/fleet"
	Action ChangeAction `json:"action"`
}

// ManifestService applies manifests in one transaction: all of it or none of it.
type ManifestService interface {
	Apply(ctx context.Context, m *Manifest) ([]Change, error)
}
