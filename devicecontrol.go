package joule

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Device tags label a site's devices where they stand (rack, container, row, or any
// key an operator chooses): the device table shows them and filters on them
// ("tag:rack=A12" in its search), and a bulk action can select by them. A tag comes
// from the manifest (a fleet's address ranges) or is set live over the API; a tag set
// live wins over the manifest's of the same key, and applying a manifest again
// replaces only the manifest's own.
const (
	MaxTagsPerDevice = 32
	MaxTagKeyLen     = 63
	MaxTagValueLen   = 128
	// MaxActionDevices is the most devices one bulk action or tag change names: a
	// site of a hundred thousand miners, whole.
	MaxActionDevices = 100_000
	// MaxActionFailures is how many failed devices an action's result lists by name.
	MaxActionFailures = 100
)

// Tag sources: where a device's tag came from.
const (
	TagFromManifest = "manifest"
	TagFromAPI      = "api"
)

// CheckTags validates a set of tags: keys are slugs (ValidSlug, at most 63 bytes),
// values printable text of at most 128 bytes, at most MaxTagsPerDevice of them.
func CheckTags(tags map[string]string) error {
	if len(tags) > MaxTagsPerDevice {
		return Errorf(EINVALID, "tags: %d, at most %d a device", len(tags), MaxTagsPerDevice)
	}
	for k, v := range tags {
		if err := CheckTagKey(k); err != nil {
			return err
		}
		switch {
		case v == "":
			return Errorf(EINVALID, "tags.%s: a value is required (delete the tag instead)", k)
		case len(v) > MaxTagValueLen:
			return Errorf(EINVALID, "tags.%s: longer than %d bytes", k, MaxTagValueLen)
		case strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }):
			return Errorf(EINVALID, "tags.%s: a value holds no control characters", k)
		}
	}
	return nil
}

// CheckTagKey validates one tag key: a slug of lower-case letters, digits, '.', '_'
// or '-'.
func CheckTagKey(k string) error {
	if !ValidSlug(k) || len(k) > MaxTagKeyLen {
		return Errorf(EINVALID, "tag key %q: use lower-case letters, digits, '.', '_' or '-', at most %d", k, MaxTagKeyLen)
	}
	return nil
}

// CheckAddresses validates a selection of device addresses: at least one, at most
// MaxActionDevices, each host:port of at most MaxTelemetryTextLen bytes. It returns
// them sorted, without repeats.
func CheckAddresses(addrs []string) ([]string, error) {
	switch {
	case len(addrs) == 0:
		return nil, Errorf(EINVALID, "addresses: at least one device, or a filter")
	case len(addrs) > MaxActionDevices:
		return nil, Errorf(EINVALID, "addresses: %d, at most %d at once", len(addrs), MaxActionDevices)
	}
	for i, a := range addrs {
		if a == "" || len(a) > MaxTelemetryTextLen || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' }) {
			return nil, Errorf(EINVALID, "addresses[%d]: %q is not a device address (host:port)", i, a)
		}
	}
	out := slices.Clone(addrs)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// TagRange is a manifest's tags for the devices of a fleet in an address range
// ("10.0.1.1-10.0.1.100", or one address): each gets Tags.
type TagRange struct {
	Range string            `json:"range"`
	Tags  map[string]string `json:"tags"`
}

// DeviceTags are the tags of one device.
type DeviceTags struct {
	Address string            `json:"address"`
	Tags    map[string]string `json:"tags"`
}

// ExpandTagRanges lists the devices a fleet's tag ranges name, as addresses with port
// (the fleet's control port), each with its tags; a later range's tag wins over an
// earlier one's of the same key on the same device. ranges are "A-B" or "A" (IPv4 or
// IPv6), checked by the manifest.
func ExpandTagRanges(port int, ranges []TagRange) ([]DeviceTags, error) {
	byAddr := map[string]map[string]string{}
	var order []string
	for i, tr := range ranges {
		first, last, err := parseRange(tr.Range)
		if err != nil {
			return nil, Errorf(EINVALID, "tags[%d].range: %v", i, err)
		}
		n := 0
		for a := first; a.IsValid() && a.Compare(last) <= 0; a = a.Next() {
			if n++; n > MaxActionDevices {
				return nil, Errorf(EINVALID, "tags[%d].range: more than %d addresses", i, MaxActionDevices)
			}
			addr := netip.AddrPortFrom(a, uint16(port)).String()
			m := byAddr[addr]
			if m == nil {
				m = map[string]string{}
				byAddr[addr] = m
				order = append(order, addr)
			}
			for k, v := range tr.Tags {
				m[k] = v
			}
		}
	}
	out := make([]DeviceTags, len(order))
	for i, a := range order {
		out[i] = DeviceTags{Address: a, Tags: byAddr[a]}
	}
	return out, nil
}

// parseRange reads "A-B" or "A" as its first and last address.
func parseRange(s string) (first, last netip.Addr, err error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if first, err = netip.ParseAddr(strings.TrimSpace(lo)); err != nil {
		return first, last, err
	}
	last = first
	if isRange {
		if last, err = netip.ParseAddr(strings.TrimSpace(hi)); err != nil {
			return first, last, err
		}
	}
	if first.Is4() != last.Is4() || last.Less(first) {
		return first, last, Errorf(EINVALID, "%q: the last address must follow the first, of the same family", s)
	}
	return first, last, nil
}

// SplitTagFilters takes the "tag:key=value" words out of a device-table search: it
// returns the rest of the search and the tags a device must carry (all of them).
func SplitTagFilters(q string) (rest string, tags map[string]string, err error) {
	var words []string
	for w := range strings.FieldsSeq(q) {
		kv, ok := strings.CutPrefix(w, "tag:")
		if !ok {
			words = append(words, w)
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return "", nil, Errorf(EINVALID, "q: %q: a tag filter is tag:key=value", w)
		}
		if err := CheckTagKey(k); err != nil {
			return "", nil, Errorf(EINVALID, "q: %v", err)
		}
		if tags == nil {
			tags = map[string]string{}
		}
		tags[k] = v
	}
	return strings.Join(words, " "), tags, nil
}

// DeviceActionKind is what an operator's bulk action asks of its devices.
type DeviceActionKind string

// Bulk actions. A sleep holds its devices asleep, out of dispatch, until a wake; a
// power action holds them running at that power setting, out of dispatch, until a
// wake; a wake ends either hold and gives the devices back to dispatch (which may put
// them to sleep again at its next step); a reboot and a pool switch are done once and
// change no hold.
const (
	ActionKindSleep  DeviceActionKind = "sleep"
	ActionKindWake   DeviceActionKind = "wake"
	ActionKindPower  DeviceActionKind = "power"
	ActionKindReboot DeviceActionKind = "reboot"
	ActionKindPool   DeviceActionKind = "pool"
)

// DeviceActionKinds lists the bulk actions.
var DeviceActionKinds = []DeviceActionKind{ActionKindSleep, ActionKindWake, ActionKindPower, ActionKindReboot, ActionKindPool}

// Device action statuses: pending until the site's agent reports what became of it.
const (
	ActionPending = "pending"
	ActionDone    = "done"
)

// DeviceAction is an operator's action on a selection of a site's devices. The server
// only stores it: the site's agent fetches it with its step, sends each device its
// command (audited and verified by telemetry like a plan's), and reports the result.
type DeviceAction struct {
	ID        int64            `json:"id"`
	Site      string           `json:"site"`
	Kind      DeviceActionKind `json:"action"`
	Addresses []string         `json:"addresses"`
	// LimitW is a power action's setting: the most each device may draw at the wall.
	LimitW Watts `json:"limit_w,omitempty"`
	// PoolURL and PoolUser are a pool action's pool (the worker name the pool knows).
	PoolURL   string    `json:"pool_url,omitempty"`
	PoolUser  string    `json:"pool_user,omitempty"`
	By        string    `json:"by"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
	DoneAt    time.Time `json:"done_at,omitzero"`
	// The agent's result: commands sent, verified by telemetry, and failed (not
	// acknowledged, or not verified), with at most MaxActionFailures failures named.
	Sent     int             `json:"sent"`
	Verified int             `json:"verified"`
	Failed   int             `json:"failed"`
	Failures []ActionFailure `json:"failures,omitempty"`
}

// ActionFailure is one device an action failed on, and why.
type ActionFailure struct {
	Address string `json:"address"`
	Error   string `json:"error"`
}

// DeviceActionResult is what a site's agent reports of an action it carried out.
type DeviceActionResult struct {
	Sent     int             `json:"sent"`
	Verified int             `json:"verified"`
	Failed   int             `json:"failed"`
	Failures []ActionFailure `json:"failures,omitempty"`
}

// Check validates a result against its action.
func (r *DeviceActionResult) Check(a *DeviceAction) error {
	switch {
	case r.Sent < 0 || r.Verified < 0 || r.Failed < 0:
		return Errorf(EINVALID, "sent, verified and failed are counts, not negative")
	case r.Verified+r.Failed > r.Sent || r.Sent > len(a.Addresses):
		return Errorf(EINVALID, "verified (%d) and failed (%d) are of the %d sent, of the action's %d devices", r.Verified, r.Failed, r.Sent, len(a.Addresses))
	case len(r.Failures) > MaxActionFailures:
		return Errorf(EINVALID, "failures: at most %d named", MaxActionFailures)
	}
	for i, f := range r.Failures {
		if len(f.Address) > MaxTelemetryTextLen || len(f.Error) > MaxAuditDetailBytes {
			return Errorf(EINVALID, "failures[%d]: an address of at most %d bytes and an error of at most %d", i, MaxTelemetryTextLen, MaxAuditDetailBytes)
		}
	}
	return nil
}

// Check validates an action as an operator asks it: its kind, its devices, and the
// setting or pool its kind needs. It sorts the addresses and drops repeats.
func (a *DeviceAction) Check() error {
	if !slices.Contains(DeviceActionKinds, a.Kind) {
		return Errorf(EINVALID, "action: %q is not one of sleep, wake, power, reboot, pool", a.Kind)
	}
	addrs, err := CheckAddresses(a.Addresses)
	if err != nil {
		return err
	}
	a.Addresses = addrs
	switch {
	case a.Kind == ActionKindPower && (a.LimitW <= 0 || a.LimitW > 1_000_000):
		return Errorf(EINVALID, "limit_w: a power action needs a setting from 1 W to 1 MW")
	case a.Kind != ActionKindPower && a.LimitW != 0:
		return Errorf(EINVALID, "limit_w: only a power action takes a setting")
	case a.Kind == ActionKindPool && !strings.Contains(a.PoolURL, "://"):
		return Errorf(EINVALID, "pool_url: a pool action needs the pool's URL, as stratum+tcp://host:port")
	case a.Kind != ActionKindPool && (a.PoolURL != "" || a.PoolUser != ""):
		return Errorf(EINVALID, "pool_url: only a pool action takes a pool")
	case len(a.PoolURL) > MaxTelemetryTextLen || len(a.PoolUser) > MaxTelemetryTextLen:
		return Errorf(EINVALID, "pool_url: at most %d bytes", MaxTelemetryTextLen)
	case strings.ContainsAny(a.PoolURL+a.PoolUser, ",|\\\" \n\t"):
		// The miner API separates parameters with ',' and commands with '|'.
		return Errorf(EINVALID, "pool_url: a pool's URL and user hold no ',', '|', quotes, backslashes or spaces")
	}
	return nil
}

// Hold kinds: what an operator's action holds a device to, out of dispatch.
const (
	HoldSleep = "sleep"
	HoldPower = "power"
)

// DeviceHold is a device an operator's action took out of dispatch: held asleep, or
// running at a power setting, until a wake action gives it back. The agent counts a
// held device as the hold says (asleep: drawing nothing; at power: drawing LimitW)
// and plans the rest of its fleet around it.
type DeviceHold struct {
	Address string `json:"address"`
	// Fleet is the device's fleet as the device table knew it when the action was
	// asked, or knows it now; "" for a device that has not reported.
	Fleet    string    `json:"fleet,omitempty"`
	Hold     string    `json:"hold"`
	LimitW   Watts     `json:"limit_w,omitempty"`
	ActionID int64     `json:"action_id"`
	Since    time.Time `json:"since"`
	By       string    `json:"by"`
}

// HeldAsleep counts, per fleet, the devices of holds held asleep: the machines the
// dispatch loop plans each fleet without.
func HeldAsleep(holds []DeviceHold) map[string]int {
	out := map[string]int{}
	for _, h := range holds {
		if h.Hold == HoldSleep && h.Fleet != "" {
			out[h.Fleet]++
		}
	}
	return out
}

// PendingActions is what a site's agent fetches every step: the actions it has not
// reported yet, oldest first, and every device held out of dispatch.
type PendingActions struct {
	Actions []*DeviceAction `json:"actions"`
	Holds   []DeviceHold    `json:"holds"`
}

// DeviceControlService keeps device tags, operators' bulk actions and the holds they
// put on devices.
type DeviceControlService interface {
	// SetDeviceTags sets tags (validated by CheckTags) on each of site's devices
	// addresses names, as set live, and returns how many devices it tagged. A device
	// need not have reported telemetry yet. ENOTFOUND when the site is not declared.
	SetDeviceTags(ctx context.Context, site string, addresses []string, tags map[string]string) (int, error)
	// DeleteDeviceTags removes the tags of keys set live (all of them with no keys)
	// from each device and returns how many tags it removed; a manifest's tag of the
	// same key then shows again. The manifest's own are changed by the manifest.
	DeleteDeviceTags(ctx context.Context, site string, addresses []string, keys []string) (int, error)
	// ReplaceManifestTags makes the manifest's tags of site exactly tags; tags set
	// live are left as they are, and win over a manifest's of the same key.
	ReplaceManifestTags(ctx context.Context, site string, tags []DeviceTags) error
	// DeviceTags returns the tags of each of the devices named that has any.
	DeviceTags(ctx context.Context, site string, addresses []string) (map[string]map[string]string, error)
	// CreateDeviceAction stores a checked action as pending, with its ID and
	// CreatedAt, and in the same transaction the holds it sets or ends.
	CreateDeviceAction(ctx context.Context, a *DeviceAction) error
	// DeviceActions returns site's newest actions, at most limit (1 to 1,000), newest
	// first; with pending only those not yet reported, oldest first.
	DeviceActions(ctx context.Context, site string, pending bool, limit int) ([]*DeviceAction, error)
	// DeviceAction returns one action, or ENOTFOUND.
	DeviceAction(ctx context.Context, site string, id int64) (*DeviceAction, error)
	// CompleteDeviceAction records the agent's result of a pending action and marks it
	// done, by the store's clock; ECONFLICT when it was done before.
	CompleteDeviceAction(ctx context.Context, site string, id int64, r DeviceActionResult) (*DeviceAction, error)
	// DeviceHolds returns site's holds, by address, each with its device's fleet.
	DeviceHolds(ctx context.Context, site string) ([]DeviceHold, error)
}
