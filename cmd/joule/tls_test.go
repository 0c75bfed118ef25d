package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1, which is its own
// authority, and its key into dir, and returns their paths.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "joule serve"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestServeTLS serves HTTPS with `joule serve --tls-cert --tls-key`, and talks to it
// with --ca; without the CA the certificate is refused.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "served.db")
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "--db", db, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	opToken := strings.TrimSpace(run(t, dir, "--db", db, "account", "token", "operator").stdout)
	cert, key := selfSigned(t, dir)
	_, url := startServe(t, db, "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve with a certificate prints %s", url)
	}
	if r := run(t, dir, "--server", url, "--token", opToken, "--ca", cert, "sites"); r.code != 0 || !strings.Contains(r.stdout, "west-texas") {
		t.Errorf("sites over HTTPS with --ca: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", opToken, "sites"); r.code == 0 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("sites over HTTPS without the CA: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", opToken, "--ca", filepath.Join(dir, "missing.pem"), "sites"); r.code != 1 || !strings.Contains(r.stderr, "--ca") {
		t.Errorf("sites with a --ca that is not there: %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "serve", "--db", db, "--addr", "127.0.0.1:0", "--tls-cert", cert); r.code != 1 || !strings.Contains(r.stderr, "--tls-key") {
		t.Errorf("serve with a certificate and no key: %d %s", r.code, r.stderr)
	}
}

// Limits that cannot hold are refused before serve listens.
func TestServeRefusesBadLimits(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--max-conns", "-1"}, {"--rate-limit-global", "-5"}, {"--tls-key", "key.pem"}} {
		r := run(t, dir, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, args[0]) {
			t.Errorf("serve %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
}
