package cgminer

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/joule-site/joule"
)

// TestMD5Crypt checks md5-crypt against vectors printed by `openssl passwd -1 -salt
// SALT PASSWORD` (Python's crypt module gives the same); "Hello world!" with salt
// "saltstring" is also glibc's test vector (crypt/md5c-test.c).
func TestMD5Crypt(t *testing.T) {
	tests := []struct{ password, salt, want string }{
		{"", "saltstri", "ciR2otLVXV8I9sOPWbLTc1"},
		{"a", "saltstri", "HP4ANLG0Ln2mcWmFUeETo."},
		{"admin", "saltstri", "QTO6JC6Q8mH9rFmjXsvtT."},
		{"password", "saltstri", "qQY4WxjABChYG1ccLpfkz/"},
		{"Hello world!", "saltstring", "YMyguxXMBpd2TEZ.vS/3q1"}, // salt cut at 8 bytes
		{"0123456789abcdef0123456789", "saltstri", "bhjihTVdAT5jVFUY.Zlg81"},
		{"secret", "ab", "dslkcXxVH.x8LwW1W/oAB/"},
		{"admin", "$1$BQ5hoXV9$", "RxmaDUO33TS7O26yeMHZ81"},
		// The Whatsminer sign for get_token-api1.1.json and password admin:
		// md5-crypt(key + time, newsalt).
		{"RxmaDUO33TS7O26yeMHZ81" + "6915", "a5TtWui2", "3p1She.3X07kIuPlnOet10"},
	}
	for _, tc := range tests {
		if got := md5Crypt(tc.password, tc.salt); got != tc.want {
			t.Errorf("md5Crypt(%q, %q) = %s, want %s", tc.password, tc.salt, got, tc.want)
		}
	}
}

// TestWhatsminerEncrypt checks AES-256-ECB under sha256(key) against openssl:
// printf '%s' "$PLAIN" (NUL-padded) | openssl enc -aes-256-ecb -nopad -K <sha256 of the key>.
func TestWhatsminerEncrypt(t *testing.T) {
	keys, err := deriveWhatsminerKeys("admin", "6915", "BQ5hoXV9", "a5TtWui2")
	if err != nil {
		t.Fatal(err)
	}
	plain := `{"cmd":"power_off","respbefore":"true","token":"TOKEN"}`
	const want = "p/QzYk8jszmQrR9dnOEVtXIRGg7DTmk9EUY2Z5AGabmXE9uaOgah2+aEOFK/+YqMSYiuYXu8J0dZTTXjVg32Eg=="
	if got := keys.encrypt([]byte(plain)); got != want {
		t.Errorf("encrypt = %s, want %s", got, want)
	}
	back, err := keys.decrypt(want)
	if err != nil || string(back) != plain {
		t.Errorf("decrypt = %q %v", back, err)
	}
	if keys.sign != "3p1She.3X07kIuPlnOet10" {
		t.Errorf("sign %s", keys.sign)
	}
}

// wmPeer plays the Whatsminer API 2.x side: get_token from the recorded reply, then
// encrypted commands that it decrypts with the admin password, checks the token of,
// and answers encrypted.
type wmPeer struct {
	password string
	mu       sync.Mutex
	got      []map[string]string
}

func (w *wmPeer) handle(r request) []byte {
	switch {
	case r.Command == "get_token":
		return []byte(`{"STATUS":"S","When":1608417125,"Code":134,"Msg":{"time":"6915","salt":"BQ5hoXV9","newsalt":"a5TtWui2"},"Description":"whatsminer v1.1"}`)
	case r.Command == "status":
		return []byte(`{"Code":131,"Description":"whatsminer v1.4.0","Msg":{"Firmware Version":"'20210322.22.REL'","btmineroff":"true"},"STATUS":"S","When":1761061371}`)
	case r.Enc == "":
		return invalidCommand
	}
	keys, _ := deriveWhatsminerKeys(w.password, "6915", "BQ5hoXV9", "a5TtWui2")
	plain, err := keys.decrypt(r.Enc)
	var cmd map[string]string
	if err != nil || json.Unmarshal(plain, &cmd) != nil || cmd["token"] != keys.sign {
		// A wrong password decrypts to noise; the miner answers in clear.
		return []byte(`{"STATUS":"E","When":1608417126,"Code":135,"Msg":"check token err","Description":"whatsminer v1.1"}`)
	}
	w.mu.Lock()
	w.got = append(w.got, cmd)
	w.mu.Unlock()
	reply := `{"STATUS":"S","When":1608417126,"Code":131,"Msg":"API command OK","Description":"whatsminer v1.1"}`
	b, _ := json.Marshal(map[string]string{"enc": keys.encrypt([]byte(reply))})
	return b
}

func TestWhatsminerPrivileged(t *testing.T) {
	w := &wmPeer{password: "s3cret,pw"}
	p := startPeer(t, false, 5, w.handle)
	ctx := context.Background()
	c := Dial(p.addr, WithPassword("s3cret,pw"))
	if err := c.PowerOff(ctx); err != nil {
		t.Fatalf("PowerOff: %v", err)
	}
	if err := c.SetPowerPercent(ctx, 60); err != nil {
		t.Fatalf("SetPowerPercent: %v", err)
	}
	if err := c.PowerOn(ctx); err != nil {
		t.Fatalf("PowerOn: %v", err)
	}
	w.mu.Lock()
	got := w.got
	w.mu.Unlock()
	want := []map[string]string{
		{"cmd": "power_off", "respbefore": "true"},
		{"cmd": "set_power_pct", "percent": "60"},
		{"cmd": "power_on"},
	}
	if len(got) != len(want) {
		t.Fatalf("miner received %v", got)
	}
	for i := range want {
		delete(got[i], "token")
		if len(got[i]) != len(want[i]) || got[i]["cmd"] != want[i]["cmd"] || got[i]["percent"] != want[i]["percent"] || got[i]["respbefore"] != want[i]["respbefore"] {
			t.Errorf("command %d: %v, want %v", i, got[i], want[i])
		}
	}

	if err := Dial(p.addr, WithPassword("wrong")).PowerOff(ctx); !isAPIError(err) {
		t.Errorf("wrong password: %v, want an APIError", err)
	}
	if err := Dial(p.addr).PowerOff(ctx); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("no password: %v", err)
	}
	if err := c.SetPowerPercent(ctx, 0); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("0 percent: %v", err)
	}
	msg, err := c.whatsminerStatus(ctx)
	if off, _ := msg.Bool("btmineroff"); err != nil || !off {
		t.Errorf("status %v %v", msg, err)
	}
}
