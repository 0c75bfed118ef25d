package node_test

import (
	"math/rand/v2"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
	"github.com/joule-site/joule/node"
)

// fakeGPUs are GPUs whose limits a fakeLimiter keeps, with one range for all.
type fakeGPUs struct {
	limits      []joule.Watts
	lo, hi, def joule.Watts
}

func (f *fakeGPUs) Read() ([]gpuapi.GPU, error) {
	out := make([]gpuapi.GPU, len(f.limits))
	for i, l := range f.limits {
		out[i] = gpuapi.GPU{Index: i, PowerW: min(l, 300), PowerLimitW: l}
	}
	return out, nil
}

func (f *fakeGPUs) Constraints(int) (lo, hi, def joule.Watts, err error) {
	return f.lo, f.hi, f.def, nil
}

func (f *fakeGPUs) SetPowerLimit(i int, w joule.Watts) error {
	if w < f.lo || w > f.hi {
		return joule.Errorf(joule.EINVALID, "outside the constraints")
	}
	f.limits[i] = w
	return nil
}

// A cap (2000 random servers, a few caps each, seeded) never lets the GPUs' limits and the host's draw sum above it, keeps every GPU
// within its constraints, and one refused changes no GPU.
func TestPowerLimitProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 3))
	between := func(a, b int) int { return a + rng.IntN(b-a+1) }
	for range 2000 {
		n := between(1, 16)
		lo := joule.Watts(between(50, 400))
		hi := lo + joule.Watts(between(0, 600))
		def := lo + joule.Watts(between(0, int(hi-lo)))
		f := &fakeGPUs{limits: make([]joule.Watts, n), lo: lo, hi: hi, def: def}
		for i := range f.limits {
			f.limits[i] = def
		}
		hostW := joule.Watts(between(0, 5000))
		s, err := node.New(node.Config{Token: token, GPUs: f, Limiter: f, States: &node.LocalStates{}, HostW: hostW})
		if err != nil {
			t.Fatal(err)
		}
		for range between(1, 5) {
			w := joule.Watts(between(0, 20000))
			before := append([]joule.Watts(nil), f.limits...)
			err := s.SetPowerLimit(w)
			var sum joule.Watts
			for _, l := range f.limits {
				sum += l
				if l < lo || l > hi {
					t.Fatalf("a GPU at %d W, outside %d–%d", l, lo, hi)
				}
			}
			switch {
			case err != nil:
				for i := range before {
					if before[i] != f.limits[i] {
						t.Fatalf("cap %d W refused (%v), and GPU %d changed", w, err, i)
					}
				}
			case w == 0:
				for _, l := range f.limits {
					if l != def {
						t.Fatalf("no cap left a GPU at %d W, not its default %d W", l, def)
					}
				}
			case sum+hostW > w:
				t.Fatalf("cap %d W: GPUs at %d W and the host's %d W sum above it", w, sum, hostW)
			}
			if err != nil && joule.Watts(n)*lo+hostW <= w {
				t.Fatalf("cap %d W refused though %d GPUs at %d W and the host's %d W fit: %v", w, n, lo, hostW, err)
			}
		}
	}
}
