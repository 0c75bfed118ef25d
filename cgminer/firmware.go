package cgminer

import (
	"regexp"
	"strings"
)

// Firmware names, as Telemetry.Firmware reports them.
const (
	FirmwareCGMiner    = "cgminer"    // cgminer and vendor forks that keep its name (MinerVa, Spondoolies, Antminer L3+)
	FirmwareBMMiner    = "bmminer"    // Bitmain stock firmware (S9 … S19 report "BMMiner" in VERSION)
	FirmwareBOSminer   = "BOSminer"   // Braiins OS and OS+ (also the bmminer-based 2018 bOS)
	FirmwareLuxOS      = "LuxOS"      // Luxor's LuxOS (LUXminer)
	FirmwareWhatsminer = "Whatsminer" // MicroBT btminer
	FirmwareVnish      = "Vnish"
	FirmwareHiveon     = "Hiveon"
	FirmwareASICseer   = "asicseer"
	FirmwareAvalon     = "Avalon" // Canaan's cgminer with Avalon extensions
)

// Version is what a miner says about its firmware and model.
type Version struct {
	Firmware        string `json:"firmware"`         // one of the Firmware names; "" when unknown
	FirmwareVersion string `json:"firmware_version"` // as the firmware writes it
	Model           string `json:"model,omitempty"`  // "Antminer S19 Pro", "Avalon Q"; "" when not reported
	API             string `json:"api,omitempty"`    // cgminer API version, "3.7"
	Description     string `json:"description"`      // STATUS Description, "cgminer 4.11.1"
}

// versionOf reads a VERSION object and the STATUS description that came with it.
// Firmware is told by the keys of VERSION first ("LUXminer", "BOSminer", "BMMiner",
// "PROD"), then by markers inside Type, then by the description.
func versionOf(v Object, description string) Version {
	typ := v.String("Type")
	lowType := strings.ToLower(typ)
	bm := v.String("BMMiner")
	out := Version{Description: description, API: v.String("API")}
	switch {
	case v.Has("LUXminer") || strings.HasPrefix(description, "LUXminer"):
		out.Firmware, out.FirmwareVersion = FirmwareLuxOS, v.String("LUXminer")
	case v.Has("BOSminer") || v.Has("BOSminer+") || strings.Contains(description, "BOSminer"):
		out.Firmware, out.FirmwareVersion = FirmwareBOSminer, v.String("BOSminer")+v.String("BOSminer+")
	case strings.HasPrefix(lowType, "braiins") || strings.HasPrefix(bm, "bOS"):
		out.Firmware, out.FirmwareVersion = FirmwareBOSminer, bm // version-bos-2018-bmminer-s9.json
		typ = ""                                                 // "braiins-am1-s9" is a platform, not a model
	case strings.Contains(lowType, "vnish"):
		out.Firmware, out.FirmwareVersion = FirmwareVnish, vnishVersion(typ)
	case strings.Contains(lowType, "hiveon"):
		out.Firmware, out.FirmwareVersion = FirmwareHiveon, bm
	case strings.Contains(strings.ToLower(bm), "asicseer"):
		out.Firmware, out.FirmwareVersion = FirmwareASICseer, bm
	case v.Has("PROD") || v.Has("MODEL"):
		out.Firmware, out.FirmwareVersion = FirmwareAvalon, v.String("CGVERSION")
		if typ == "" {
			typ = v.String("PROD")
		}
	case strings.Contains(description, "whatsminer") || strings.Contains(description, "btminer"):
		out.Firmware = FirmwareWhatsminer
	case v.Has("BMMiner") || strings.HasPrefix(description, "bmminer"):
		out.Firmware, out.FirmwareVersion = FirmwareBMMiner, bm
	case v.Has("CGMiner") || v.Has("Cgminer") || strings.HasPrefix(description, "cgminer"):
		out.Firmware, out.FirmwareVersion = FirmwareCGMiner, v.String("CGMiner")+v.String("Cgminer")
	}
	if m := v.String("Miner"); out.FirmwareVersion == "" {
		out.FirmwareVersion = m
	}
	out.Model = cleanModel(typ)
	return out
}

var vnishRE = regexp.MustCompile(`(?i)\s*\(vnish ([^)]*)\)`)

func vnishVersion(typ string) string {
	if m := vnishRE.FindStringSubmatch(typ); m != nil {
		return m[1]
	}
	return ""
}

// cleanModel drops the firmware markers that some firmware append to Type:
// "Antminer S9 (vnish 3.8.6)", "Antminer S9 Hiveon".
func cleanModel(typ string) string {
	typ = strings.TrimSpace(vnishRE.ReplaceAllString(typ, ""))
	return strings.TrimSpace(strings.TrimSuffix(typ, " Hiveon"))
}

// refine corrects the firmware using what the stats and summary show: Vnish 2.0.3 has
// no Type in VERSION (vnish/version-s17plus-vnish-2.0.3.json) but has it in STATS;
// Avalon 7xx has no PROD but "MM ID" stats; older Whatsminer firmware says
// "cgminer 4.9.2" but its summary carries MicroBT's power fields.
func (v *Version) refine(stats []Object, summary Object) {
	if len(stats) > 0 && stats[0].Has("Type") {
		w := versionOf(stats[0], v.Description)
		if w.Firmware != "" && (v.Firmware == "" || v.Firmware == FirmwareCGMiner || v.Firmware == FirmwareBMMiner) {
			v.Firmware, v.FirmwareVersion = w.Firmware, w.FirmwareVersion
		}
		if v.Model == "" {
			v.Model = w.Model
		}
	}
	if av := avalonStats(stats); av != nil || avalonID(stats) {
		v.Firmware = FirmwareAvalon
		if v.Model == "" {
			v.Model = avalonModel(av["Ver"])
		}
	}
	if summary != nil && (summary.Has("Power_RT") || summary.Has("Factory GHS") || summary.Has("CB Platform")) {
		v.Firmware = FirmwareWhatsminer
		if fw := strings.Trim(summary.String("Firmware Version"), "'"); fw != "" {
			v.FirmwareVersion = fw
		}
	}
}
