package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWhenRelative(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 20, 30, 0, time.FixedZone("CET", 3600))
	for _, tt := range []struct {
		in, want string
	}{
		{"now", "2026-12-03T09:20:30Z"},
		{"+2h", "2026-12-03T12:00:00Z"}, // 11:20:30 rounded up to the hour
		{"+7d", "2026-12-10T10:00:00Z"},
		{"+1d12h", "2026-12-04T22:00:00Z"},
		{"+40m", "2026-12-03T11:00:00Z"}, // 10:00:30 is past the hour
		{"2025-01-06T00:00Z", "2025-01-06T00:00:00Z"},
		{"2025-01-06", "2025-01-06T00:00:00Z"},
	} {
		got, err := parseWhenAt("start", tt.in, now)
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("%q: %v, %v; want %s", tt.in, got.Format(time.RFC3339), err, tt.want)
		}
	}
	for _, bad := range []string{"+", "+0h", "+-3h", "+3x", "+xd", "tomorrow", "+99999d"} {
		if _, err := parseWhenAt("start", bad, now); err == nil || !strings.Contains(err.Error(), "--start") {
			t.Errorf("%q: %v, want an error naming --start", bad, err)
		}
	}
}
