package redfish_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/joule-site/joule/redfish"
)

// FuzzStatus answers every request of the driver with the same body: whatever a BMC
// sends, Status returns a reading or an error, never panics.
func FuzzStatus(f *testing.F) {
	f.Add(`{"Systems":{"@odata.id":"/s"},"Members":[{"@odata.id":"/s/1"}],"PowerState":"On","Actions":{"#ComputerSystem.Reset":{"target":"/r"}},"Links":{"Chassis":[{"@odata.id":"/c"}]},"Power":{"@odata.id":"/p"},"PowerControl":[{"PowerConsumedWatts":9350,"PowerLimit":{"LimitInWatts":null}}]}`)
	f.Add(`{"Systems":{"@odata.id":"/s"},"Members":[{"@odata.id":"/s/1"}],"PowerState":"Off","Actions":{"#ComputerSystem.Reset":{"target":"/r"}},"Links":{"Chassis":[{"@odata.id":"/c"}]},"EnvironmentMetrics":{"@odata.id":"/e"},"PowerWatts":{"Reading":1e300},"PowerLimitWatts":{"SetPoint":-5}}`)
	f.Add(`{"Members":[]}`)
	f.Add("\xff\x00")
	f.Fuzz(func(t *testing.T, body string) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}))
		defer ts.Close()
		d := redfish.NewDriver("admin", "pass")
		d.UsePlainHTTP()
		tel, err := d.Status(context.Background(), strings.TrimPrefix(ts.URL, "http://"))
		if err == nil && (tel.PowerW < 0 || tel.PowerLimitW < 0) {
			t.Errorf("Status = %+v: negative power from %q", tel, body)
		}
	})
}
