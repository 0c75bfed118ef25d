package joule_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// TestSameRequestComparesEveryField changes each field a client sets, one at a time,
// and expects another request; the fields the exchange sets are ignored. A field added
// to Order fails here until SameRequest compares it (or it is listed as the
// exchange's).
func TestSameRequestComparesEveryField(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	base := joule.Order{IdempotencyKey: "k", Account: "acme", Product: "h100-sxm/west-texas", Kind: joule.OrderReserved,
		GPUs: 8, Start: start, End: start.Add(24 * time.Hour), LimitMicroUSDPerGPUHour: 2_100_000, AllOrNone: true,
		Class: joule.LeaseCurtailable, NoticeSec: 3600, ExpiresAt: start.Add(-time.Hour)}
	setByExchange := map[string]bool{"ID": true, "Status": true, "FilledGPUs": true, "SoldGPUHours": true, "CreatedAt": true}
	typ := reflect.TypeFor[joule.Order]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			o := base
			v := reflect.ValueOf(&o).Elem().Field(i)
			switch v.Kind() {
			case reflect.String:
				v.SetString(v.String() + "x")
			case reflect.Int, reflect.Int64:
				v.SetInt(v.Int() + 1)
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.Struct: // time.Time
				v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
			default:
				t.Fatalf("field %s of kind %s: teach this test to change it", f.Name, v.Kind())
			}
			if got, want := base.SameRequest(&o), setByExchange[f.Name]; got != want {
				t.Errorf("SameRequest with %s changed = %v, want %v", f.Name, got, want)
			}
		})
	}
	// An empty class is the kind's default: firm for a reserved order.
	a, b := base, base
	a.Class, a.NoticeSec, b.Class, b.NoticeSec = "", 0, joule.LeaseFirm, 0
	if !a.SameRequest(&b) {
		t.Error("an empty class should be the kind's default")
	}
	// The same instant in another zone is the same request: a store may hand times back in UTC.
	c := base
	c.Start = base.Start.In(time.FixedZone("CST", -6*3600))
	if !base.SameRequest(&c) {
		t.Error("the same start in another zone should be the same request")
	}
}
