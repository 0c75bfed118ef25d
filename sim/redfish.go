package sim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/joule-site/joule"
)

// The simulated GPU servers' BMC speaks Redfish (DMTF DSP0266) on the server's own
// address, under /redfish/v1, when GPUConfig.RedfishUser is set: one ComputerSystem
// (/redfish/v1/Systems/1, PowerState and the ComputerSystem.Reset action) and one
// Chassis (/redfish/v1/Chassis/1) with the power at the wall and its cap twice, in the
// Power resource (PowerControl[0].PowerConsumedWatts and PowerLimit.LimitInWatts,
// null for no cap) and in the newer EnvironmentMetrics (PowerWatts.Reading and
// PowerLimitWatts.SetPoint). Either PATCH sets the same cap as POST /power-limit; a
// reset moves the same state as POST /power: On, ForceOn and the restarts serve,
// GracefulShutdown and ForceOff power off, PushPowerButton toggles. Redfish has no
// idle: an idle server's host is up, its PowerState On. Requests but the service root
// need HTTP Basic credentials, as BMCs take them.

// Redfish resource paths of the simulated BMC.
const (
	RedfishRoot    = "/redfish/v1"
	RedfishSystem  = "/redfish/v1/Systems/1"
	RedfishChassis = "/redfish/v1/Chassis/1"
	redfishReset   = RedfishSystem + "/Actions/ComputerSystem.Reset"
)

// redfishResetTypes are the ResetType values the simulated BMC takes.
var redfishResetTypes = []string{"On", "ForceOn", "GracefulShutdown", "ForceOff", "GracefulRestart", "ForceRestart", "PowerCycle", "PushPowerButton"}

// redfish serves the BMC's resources.
func (g *GPUServer) redfish(mux *http.ServeMux) {
	link := func(p string) map[string]string { return map[string]string{"@odata.id": p} }
	mux.HandleFunc("GET /redfish", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"v1": RedfishRoot + "/"})
	})
	root := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": RedfishRoot, "@odata.type": "#ServiceRoot.v1_15_0.ServiceRoot",
			"Id": "RootService", "Name": "Joule simulated BMC", "RedfishVersion": "1.17.0",
			"Systems": link(RedfishRoot + "/Systems"), "Chassis": link(RedfishRoot + "/Chassis")})
	}
	mux.HandleFunc("GET /redfish/v1", root)
	mux.HandleFunc("GET /redfish/v1/{$}", root)
	collection := func(name, member string) http.HandlerFunc {
		return g.basicAuth(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"@odata.id": RedfishRoot + "/" + name, "@odata.type": "#" + name + "Collection." + name + "Collection",
				"Name": name, "Members": []any{link(member)}, "Members@odata.count": 1})
		})
	}
	mux.HandleFunc("GET /redfish/v1/Systems", collection("Systems", RedfishSystem))
	mux.HandleFunc("GET /redfish/v1/Chassis", collection("Chassis", RedfishChassis))
	mux.HandleFunc("GET "+RedfishSystem, g.basicAuth(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": RedfishSystem, "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
			"Id": "1", "Name": "GPU server", "SystemType": "Physical", "PowerState": g.redfishPowerState(),
			"Links": map[string]any{"Chassis": []any{link(RedfishChassis)}},
			"Actions": map[string]any{"#ComputerSystem.Reset": map[string]any{"target": redfishReset,
				"ResetType@Redfish.AllowableValues": redfishResetTypes}}})
	}))
	mux.HandleFunc("POST "+redfishReset, g.basicAuth(g.handleRedfishReset))
	mux.HandleFunc("GET "+RedfishChassis, g.basicAuth(func(w http.ResponseWriter, _ *http.Request) {
		c := map[string]any{"@odata.id": RedfishChassis, "@odata.type": "#Chassis.v1_23_0.Chassis", "Id": "1", "Name": "GPU server chassis",
			"ChassisType": "RackMount", "PowerState": g.redfishPowerState(), "Power": link(RedfishChassis + "/Power"),
			"Links": map[string]any{"ComputerSystems": []any{link(RedfishSystem)}}}
		if !g.cfg.RedfishLegacyOnly {
			c["EnvironmentMetrics"] = link(RedfishChassis + "/EnvironmentMetrics")
		}
		writeJSON(w, http.StatusOK, c)
	}))
	mux.HandleFunc("GET "+RedfishChassis+"/Power", g.basicAuth(func(w http.ResponseWriter, _ *http.Request) {
		t := g.reported()
		var limit any // null: no cap
		if l := g.limit(); l > 0 {
			limit = l
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": RedfishChassis + "/Power", "@odata.type": "#Power.v1_7_1.Power", "Id": "Power", "Name": "Power",
			"PowerControl": []any{map[string]any{"@odata.id": RedfishChassis + "/Power#/PowerControl/0", "MemberId": "0", "Name": "Server power control",
				"PowerConsumedWatts": t.PowerW, "PowerCapacityWatts": g.cfg.PowerW,
				"PowerLimit": map[string]any{"LimitInWatts": limit, "LimitException": "NoAction"}}}})
	}))
	mux.HandleFunc("PATCH "+RedfishChassis+"/Power", g.basicAuth(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			PowerControl []struct {
				PowerLimit *struct {
					LimitInWatts *float64 `json:"LimitInWatts"`
				} `json:"PowerLimit"`
			} `json:"PowerControl"`
		}
		if !decodeRedfish(w, r, &req) {
			return
		}
		if len(req.PowerControl) != 1 || req.PowerControl[0].PowerLimit == nil {
			redfishError(w, http.StatusBadRequest, "Base.1.8.PropertyMissing", `body must be {"PowerControl":[{"PowerLimit":{"LimitInWatts":W|null}}]}`)
			return
		}
		var limit joule.Watts
		if l := req.PowerControl[0].PowerLimit.LimitInWatts; l != nil {
			limit = joule.Watts(*l)
			if limit <= 0 {
				redfishError(w, http.StatusBadRequest, "Base.1.8.PropertyValueOutOfRange", "LimitInWatts must be positive, or null for no cap")
				return
			}
		}
		if err := g.SetPowerLimit(limit); err != nil {
			redfishError(w, http.StatusBadRequest, "Base.1.8.PropertyValueOutOfRange", err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	if g.cfg.RedfishLegacyOnly {
		return
	}
	mux.HandleFunc("GET "+RedfishChassis+"/EnvironmentMetrics", g.basicAuth(func(w http.ResponseWriter, _ *http.Request) {
		t := g.reported()
		setPoint, mode := any(nil), "Disabled"
		if l := g.limit(); l > 0 {
			setPoint, mode = l, "Automatic"
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": RedfishChassis + "/EnvironmentMetrics", "@odata.type": "#EnvironmentMetrics.v1_3_0.EnvironmentMetrics",
			"Id": "EnvironmentMetrics", "Name": "Chassis environment metrics", "PowerWatts": map[string]any{"Reading": t.PowerW},
			"PowerLimitWatts": map[string]any{"SetPoint": setPoint, "ControlMode": mode, "AllowableMin": g.cfg.IdleW, "AllowableMax": g.cfg.PowerW}})
	}))
	mux.HandleFunc("PATCH "+RedfishChassis+"/EnvironmentMetrics", g.basicAuth(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			PowerLimitWatts *struct {
				SetPoint    *float64 `json:"SetPoint"`
				ControlMode string   `json:"ControlMode"`
			} `json:"PowerLimitWatts"`
		}
		if !decodeRedfish(w, r, &req) {
			return
		}
		if req.PowerLimitWatts == nil || (req.PowerLimitWatts.SetPoint == nil && req.PowerLimitWatts.ControlMode != "Disabled") {
			redfishError(w, http.StatusBadRequest, "Base.1.8.PropertyMissing", `body must be {"PowerLimitWatts":{"SetPoint":W}} or {"PowerLimitWatts":{"ControlMode":"Disabled"}}`)
			return
		}
		var limit joule.Watts
		if p := req.PowerLimitWatts.SetPoint; p != nil && req.PowerLimitWatts.ControlMode != "Disabled" {
			if limit = joule.Watts(*p); limit <= 0 {
				redfishError(w, http.StatusBadRequest, "Base.1.8.PropertyValueOutOfRange", "SetPoint must be positive")
				return
			}
		}
		if err := g.SetPowerLimit(limit); err != nil {
			redfishError(w, http.StatusBadRequest, "Base.1.8.PropertyValueOutOfRange", err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// limit returns the cap in force, 0 for none.
func (g *GPUServer) limit() joule.Watts {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limitW
}

// redfishPowerState is the host's Redfish PowerState: Off when off, else On.
func (g *GPUServer) redfishPowerState() string {
	if g.reported().State == GPUOff {
		return "Off"
	}
	return "On"
}

func (g *GPUServer) handleRedfishReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ResetType string `json:"ResetType"`
	}
	if !decodeRedfish(w, r, &req) {
		return
	}
	var state string
	switch req.ResetType {
	case "On", "ForceOn", "GracefulRestart", "ForceRestart", "PowerCycle":
		state = GPUOn
		if req.ResetType == "On" || req.ResetType == "ForceOn" {
			if cur := g.reported().State; cur != GPUOff {
				state = cur // already up: an idle host stays idle
			}
		}
	case "GracefulShutdown", "ForceOff":
		state = GPUOff
	case "PushPowerButton":
		state = GPUOff
		if g.reported().State == GPUOff {
			state = GPUOn
		}
	default:
		redfishError(w, http.StatusBadRequest, "Base.1.8.ActionParameterValueNotInList",
			"ResetType "+req.ResetType+" is not one of "+strings.Join(redfishResetTypes, ", "))
		return
	}
	if err := g.SetState(state); err != nil {
		redfishError(w, http.StatusBadRequest, "Base.1.8.GeneralError", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// basicAuth requires the BMC's credentials.
func (g *GPUServer) basicAuth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(g.cfg.RedfishUser)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(g.cfg.RedfishPassword)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Redfish"`)
			redfishError(w, http.StatusUnauthorized, "Base.1.8.InsufficientPrivilege", "this BMC needs its credentials (HTTP Basic)")
			return
		}
		h(w, r)
	}
}

// decodeRedfish reads a request body of at most 4 KiB into v, or answers 400.
func decodeRedfish(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	if err := dec.Decode(v); err != nil {
		redfishError(w, http.StatusBadRequest, "Base.1.8.MalformedJSON", "the request body is not JSON of the resource")
		return false
	}
	return true
}

// redfishError answers a Redfish error (DSP0266 §9.6: an "error" object with a code,
// a message and extended info).
func redfishError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"@Message.ExtendedInfo": []any{map[string]any{"MessageId": code, "Message": msg}}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
