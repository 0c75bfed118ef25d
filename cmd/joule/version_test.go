package main

import (
	"runtime/debug"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go test or go run", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, true, "(devel), go1.26.0"},
		{"no main module version", &debug.BuildInfo{GoVersion: "go1.26.0"}, true, "(devel), go1.26.0"},
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"}, Settings: vcs("f11bcd70deef", "false")}, true, "v1.2.0, commit f11bcd70deef, go1.26.0"},
		{"modified tree", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.1-0.20250101000000-f11bcd70deef+dirty"}, Settings: vcs("f11bcd70deef", "true")}, true, "v1.2.1-0.20250101000000-f11bcd70deef+dirty, commit f11bcd70deef (modified), go1.26.0"},
		{"no build info", nil, false, "(unknown: built without module support)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildVersion(tt.info, tt.ok); got != tt.want {
				t.Errorf("buildVersion = %q, want %q", got, tt.want)
			}
		})
	}
}
