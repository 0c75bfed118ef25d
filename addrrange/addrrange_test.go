package addrrange

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in          string
		len         int
		first, last string
		bad         bool
	}{
		{in: "127.0.0.2-127.0.9.254", len: 254 + 8*256 + 255, first: "127.0.0.2", last: "127.0.9.254"},
		{in: "127.0.0.5", len: 1, first: "127.0.0.5", last: "127.0.0.5"},
		{in: " 10.0.0.0/30 ", len: 4, first: "10.0.0.0", last: "10.0.0.3"},
		{in: "127.0.0.9-127.0.0.2", bad: true},
		{in: "127.0.0.1-::1", bad: true},
		{in: "::1", bad: true},
		{in: "miner-1", bad: true},
		{in: "127.0.0.0/33", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, err := Parse(tc.in)
			if tc.bad {
				if err == nil {
					t.Errorf("Parse(%q) = %v, want an error", tc.in, r)
				}
				return
			}
			if err != nil || r.Len() != tc.len || r.At(0).String() != tc.first || r.At(r.Len()-1).String() != tc.last {
				t.Errorf("Parse(%q) = %v (len %d), %v", tc.in, r, r.Len(), err)
			}
		})
	}
}

func TestSub(t *testing.T) {
	r, err := Parse("127.2.0.1-127.5.255.254")
	if err != nil {
		t.Fatal(err)
	}
	s := r.Sub(15000, 15000)
	if s.Len() != 15000 || s.At(0) != r.At(15000) || s.At(s.Len()-1) != r.At(29999) {
		t.Errorf("Sub(15000, 15000) = %v (%d)", s, s.Len())
	}
	back, err := Parse(s.String())
	if err != nil || back != s {
		t.Errorf("%v does not parse back: %v %v", s, back, err)
	}
}

// FuzzParse: whatever it is given, Parse either refuses it or returns a range whose
// written form parses back to the same range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"127.0.0.2-127.0.9.254", "10.0.0.0/30", "127.0.0.5", "::1", "1.2.3.4-1.2.3.3", "0.0.0.0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.Len() < 1 {
			t.Fatalf("Parse(%q) = %v with %d addresses", s, r, r.Len())
		}
		back, err := Parse(r.String())
		if err != nil || back != r {
			t.Fatalf("Parse(%q) = %v, which parses back as %v, %v", s, r, back, err)
		}
	})
}
