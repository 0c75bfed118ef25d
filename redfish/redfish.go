// Package redfish speaks DMTF Redfish (DSP0266) to the BMCs of a site's GPU servers,
// so that the agent can power a server on and off and cap its power where the server
// runs no `joule node`: ComputerSystem.Reset for power, and the chassis' power cap in
// the newer EnvironmentMetrics (PowerLimitWatts.SetPoint) when the BMC has it, else in
// the Power resource (PowerControl[0].PowerLimit.LimitInWatts).
//
// Driver implements the agent's device driver for GPU servers. Redfish has no idle
// state — a BMC powers the host on or off — so Sleep is refused (EINVALID): curtail
// such servers by powering them off or capping them. Each address's resources are
// found from the service root once and kept.
package redfish

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// DefaultTimeout bounds one request when the caller's context does not.
const DefaultTimeout = 10 * time.Second

// maxReply is the largest reply read: Redfish resources are a few KB.
const maxReply = 1 << 20

// Driver commands BMCs by address (host:port, or host for the scheme's port) with one
// set of credentials (HTTP Basic, which every Redfish service takes). It is safe for
// concurrent use.
type Driver struct {
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// Now stamps readings; time.Now when nil.
	Now func() time.Time

	user, password string
	scheme         string
	http           *http.Client

	mu    sync.Mutex
	found map[string]*resources
}

// resources are where one BMC keeps what the driver uses.
type resources struct {
	system      string   // the ComputerSystem
	reset       string   // its Reset action's target
	resetTypes  []string // the ResetType values it allows; nil when it does not say
	power       string   // the chassis' Power resource; "" when none
	environment string   // the chassis' EnvironmentMetrics; "" when none
}

// NewDriver returns a driver that speaks https with the system's CAs.
func NewDriver(user, password string) *Driver {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     60 * time.Second,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &Driver{user: user, password: password, scheme: "https", http: &http.Client{Transport: t}, found: map[string]*resources{}}
}

// UseTLS checks the BMCs' certificates with cfg (its RootCAs: the CA that signed them).
func (d *Driver) UseTLS(cfg *tls.Config) {
	d.http.Transport.(*http.Transport).TLSClientConfig = cfg
	d.scheme = "https"
}

// UsePlainHTTP speaks http, for BMCs on a private management network that serve
// no TLS (and the simulator).
func (d *Driver) UsePlainHTTP() { d.scheme = "http" }

// Status reads the host's power state and the chassis' power and cap.
func (d *Driver) Status(ctx context.Context, addr string) (*joule.Telemetry, error) {
	res, err := d.resources(ctx, addr)
	if err != nil {
		return nil, err
	}
	var sys struct{ PowerState string }
	if err := d.get(ctx, addr, res.system, &sys); err != nil {
		return nil, err
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	t := &joule.Telemetry{Address: addr, At: now(), Firmware: "redfish", Pools: []joule.Pool{}}
	switch sys.PowerState {
	case "On":
		t.State = joule.StateRunning
	case "Off", "PoweringOff", "PoweringOn": // not serving (yet)
		t.State = joule.StateOff
	default:
		return nil, fmt.Errorf("BMC %s: PowerState %q", addr, sys.PowerState)
	}
	if res.environment != "" {
		var env struct {
			PowerWatts      *struct{ Reading *float64 }
			PowerLimitWatts *struct {
				SetPoint    *float64
				ControlMode string
			}
		}
		if err := d.get(ctx, addr, res.environment, &env); err != nil {
			return nil, err
		}
		if env.PowerWatts != nil && env.PowerWatts.Reading != nil {
			if t.PowerW, err = watts(addr, "PowerWatts.Reading", *env.PowerWatts.Reading); err != nil {
				return nil, err
			}
			t.PowerKnown = true
		}
		if l := env.PowerLimitWatts; l != nil && l.SetPoint != nil && l.ControlMode != "Disabled" {
			if t.PowerLimitW, err = watts(addr, "PowerLimitWatts.SetPoint", *l.SetPoint); err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	if res.power != "" {
		var pw struct {
			PowerControl []struct {
				PowerConsumedWatts *float64
				PowerLimit         *struct{ LimitInWatts *float64 }
			}
		}
		if err := d.get(ctx, addr, res.power, &pw); err != nil {
			return nil, err
		}
		if len(pw.PowerControl) > 0 {
			pc := pw.PowerControl[0]
			if pc.PowerConsumedWatts != nil {
				if t.PowerW, err = watts(addr, "PowerConsumedWatts", *pc.PowerConsumedWatts); err != nil {
					return nil, err
				}
				t.PowerKnown = true
			}
			if pc.PowerLimit != nil && pc.PowerLimit.LimitInWatts != nil {
				if t.PowerLimitW, err = watts(addr, "LimitInWatts", *pc.PowerLimit.LimitInWatts); err != nil {
					return nil, err
				}
			}
		}
	}
	return t, nil
}

// maxServerW bounds a reading a BMC gives: 1 MW, far beyond any one server, so that
// a reading above it is the BMC's error, not a draw.
const maxServerW = 1_000_000

// watts rounds a BMC's reading to the watt, refusing one that cannot be a draw.
func watts(addr, what string, v float64) (joule.Watts, error) {
	if !(v >= 0 && v <= maxServerW) { // NaN fails both
		return 0, fmt.Errorf("BMC %s: %s %g W is not a reading", addr, what, v)
	}
	return joule.Watts(v + 0.5), nil
}

// Sleep is refused: Redfish powers a host on or off, and has no idle state.
func (d *Driver) Sleep(_ context.Context, addr string) error {
	return joule.Errorf(joule.EINVALID, "BMC %s: Redfish has no idle state; power the server off or cap it", addr)
}

// Wake powers the host on (ResetType On) when it is off.
func (d *Driver) Wake(ctx context.Context, addr string) error {
	t, err := d.Status(ctx, addr)
	if err != nil {
		return err
	}
	if t.State == joule.StateRunning {
		return nil
	}
	return d.reset(ctx, addr, "On", "ForceOn")
}

// PowerOff shuts the host down, gracefully where the BMC offers it (the OS stops its
// work first), else by ForceOff.
func (d *Driver) PowerOff(ctx context.Context, addr string) error {
	return d.reset(ctx, addr, "GracefulShutdown", "ForceOff")
}

// SetPower caps the chassis at limit watts; a limit at or above stock removes the cap.
func (d *Driver) SetPower(ctx context.Context, addr string, limit, stock joule.Watts) error {
	if limit <= 0 {
		return joule.Errorf(joule.EINVALID, "BMC %s: power limit must be positive, got %d W", addr, limit)
	}
	res, err := d.resources(ctx, addr)
	if err != nil {
		return err
	}
	var setPoint any = int64(limit)
	if stock > 0 && limit >= stock {
		setPoint = nil
	}
	switch {
	case res.environment != "":
		body := map[string]any{"SetPoint": setPoint, "ControlMode": "Automatic"}
		if setPoint == nil {
			body = map[string]any{"ControlMode": "Disabled"}
		}
		return d.send(ctx, addr, http.MethodPatch, res.environment, map[string]any{"PowerLimitWatts": body})
	case res.power != "":
		return d.send(ctx, addr, http.MethodPatch, res.power,
			map[string]any{"PowerControl": []any{map[string]any{"PowerLimit": map[string]any{"LimitInWatts": setPoint}}}})
	}
	return joule.Errorf(joule.EINVALID, "BMC %s offers no power cap (no EnvironmentMetrics or Power resource)", addr)
}

// reset posts the first of the reset types the system allows.
func (d *Driver) reset(ctx context.Context, addr string, types ...string) error {
	res, err := d.resources(ctx, addr)
	if err != nil {
		return err
	}
	pick := types[0]
	if res.resetTypes != nil {
		pick = ""
		for _, t := range types {
			if slices.Contains(res.resetTypes, t) {
				pick = t
				break
			}
		}
		if pick == "" {
			return joule.Errorf(joule.EINVALID, "BMC %s allows none of the resets %v (it allows %v)", addr, types, res.resetTypes)
		}
	}
	return d.send(ctx, addr, http.MethodPost, res.reset, map[string]string{"ResetType": pick})
}

// resources finds a BMC's system, its reset action and its chassis' power resources
// from the service root, once.
func (d *Driver) resources(ctx context.Context, addr string) (*resources, error) {
	d.mu.Lock()
	res := d.found[addr]
	d.mu.Unlock()
	if res != nil {
		return res, nil
	}
	type link struct {
		ID string `json:"@odata.id"`
	}
	var root struct{ Systems link }
	if err := d.get(ctx, addr, "/redfish/v1", &root); err != nil {
		return nil, err
	}
	var systems struct{ Members []link }
	if root.Systems.ID == "" {
		return nil, fmt.Errorf("BMC %s: the service root has no Systems", addr)
	}
	if err := d.get(ctx, addr, root.Systems.ID, &systems); err != nil {
		return nil, err
	}
	if len(systems.Members) != 1 {
		return nil, fmt.Errorf("BMC %s manages %d systems; a GPU server's manages one", addr, len(systems.Members))
	}
	var sys struct {
		Actions struct {
			Reset struct {
				Target string   `json:"target"`
				Types  []string `json:"ResetType@Redfish.AllowableValues"`
			} `json:"#ComputerSystem.Reset"`
		}
		Links struct{ Chassis []link }
	}
	if err := d.get(ctx, addr, systems.Members[0].ID, &sys); err != nil {
		return nil, err
	}
	res = &resources{system: systems.Members[0].ID, reset: sys.Actions.Reset.Target, resetTypes: sys.Actions.Reset.Types}
	if res.reset == "" {
		return nil, fmt.Errorf("BMC %s: the system has no ComputerSystem.Reset action", addr)
	}
	if len(sys.Links.Chassis) > 0 {
		var ch struct{ Power, EnvironmentMetrics link }
		if err := d.get(ctx, addr, sys.Links.Chassis[0].ID, &ch); err != nil {
			return nil, err
		}
		res.power, res.environment = ch.Power.ID, ch.EnvironmentMetrics.ID
	}
	d.mu.Lock()
	d.found[addr] = res
	d.mu.Unlock()
	return res, nil
}

func (d *Driver) get(ctx context.Context, addr, path string, v any) error {
	b, err := d.do(ctx, addr, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("BMC %s: GET %s: reply is not the resource: %w", addr, path, err)
	}
	return nil
}

func (d *Driver) send(ctx context.Context, addr, method, path string, body any) error {
	_, err := d.do(ctx, addr, method, path, body)
	return err
}

// do sends one request. 401 is EUNAUTHORIZED; another 4xx, a refusal (EINVALID) with
// the service's message; anything else a failure of that BMC.
func (d *Driver) do(ctx context.Context, addr, method, path string, body any) ([]byte, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.scheme+"://"+addr+path, rd)
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "BMC %q: %v", addr, err)
	}
	req.SetBasicAuth(d.user, d.password)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-Version", "4.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("BMC %s: %s %s: %w", addr, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("BMC %s: %s %s: reading the reply: %w", addr, method, path, err)
	case len(b) > maxReply:
		return nil, fmt.Errorf("BMC %s: %s %s: reply larger than %d bytes", addr, method, path, maxReply)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "BMC %s refused the credentials for %s %s", addr, method, path)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		msg := resp.Status
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return nil, joule.Errorf(joule.EINVALID, "BMC %s refused %s %s: %s", addr, method, path, msg)
	case resp.StatusCode >= 300:
		return nil, fmt.Errorf("BMC %s: %s %s: %s", addr, method, path, resp.Status)
	}
	return b, nil
}
