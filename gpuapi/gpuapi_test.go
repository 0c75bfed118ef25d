package gpuapi_test

import (
	"errors"
	"testing"

	"github.com/joule-site/joule/gpuapi"
)

func TestParseTelemetry(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{`{"state":"on","power_w":9350,"gpus":[]}`, nil},
		{`{"state":"idle","power_w":1700}`, nil},
		{`{"state":"sleep","power_w":1700}`, errBad},
		{`{"state":"on","power_w":-5}`, errBad},
		{`{"state":"on"} {"state":"off"}`, errBad},
		{`{"state":"on","power_w":"9350"}`, errBad},
		{``, errBad},
		{"\xff\xfe}}not json{{\x00", errBad},
	}
	for _, tc := range tests {
		_, err := gpuapi.ParseTelemetry([]byte(tc.in))
		if (err != nil) != (tc.want != nil) {
			t.Errorf("ParseTelemetry(%q) = %v", tc.in, err)
		}
	}
}

var errBad = errors.New("bad")

// FuzzParseTelemetry: no reply makes the parser panic, and what it accepts has a known
// state and no negative power.
func FuzzParseTelemetry(f *testing.F) {
	f.Add([]byte(`{"at":"2026-03-01T12:00:00Z","state":"on","power_w":9350,"power_limit_w":10200,"utilization":0.9,"gpus":[{"index":0,"power_w":637}]}`))
	f.Add([]byte(`{"state":"off","power_w":25,"gpus":[]}`))
	f.Add([]byte("\xff\xfe}}not json{{\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tel, err := gpuapi.ParseTelemetry(b)
		if err != nil {
			return
		}
		if tel.State != gpuapi.StateOn && tel.State != gpuapi.StateIdle && tel.State != gpuapi.StateOff || tel.PowerW < 0 {
			t.Fatalf("accepted %+v", tel)
		}
	})
}
