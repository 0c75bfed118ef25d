package http_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sqlite"
)

// testPKI is a certificate authority and a server certificate it signed for
// 127.0.0.1, as PEM files in a test's directory.
type testPKI struct {
	caPEM             []byte
	certFile, keyFile string
}

// newTestPKI makes a fresh CA and a server certificate for 127.0.0.1 and localhost.
func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Joule test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "joule serve"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := testPKI{
		caPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server-key.pem"),
	}
	if err := os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A server with a certificate speaks HTTPS: a client that trusts its CA is served, one
// that does not refuses the certificate, and nothing answers in plain HTTP.
func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.TLSCertFile, s.TLSKeyFile = pki.certFile, pki.keyFile })
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL())
	}
	ctx := context.Background()
	c := client(s)
	if err := c.TrustCA(pki.caPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sites(ctx); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	if _, err := client(s).Sites(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v; want an error about the certificate", err)
	}
	other := newTestPKI(t)
	wrong := client(s)
	if err := wrong.TrustCA(other.caPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Sites(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("with another CA: %v; want an error about the certificate", err)
	}
	plain := jhttp.NewClient("http://" + hostPort(s))
	plain.Token = opToken(s)
	if _, err := plain.Sites(ctx); err == nil {
		t.Error("plain HTTP to a TLS server was answered")
	}
	if err := c.TrustCA([]byte("not a certificate")); err == nil {
		t.Error("TrustCA took a file with no certificate")
	}
}

// A server with half a certificate does not open.
func TestTLSNeedsCertificateAndKey(t *testing.T) {
	pki := newTestPKI(t)
	for _, files := range [][2]string{{pki.certFile, ""}, {"", pki.keyFile}, {pki.keyFile, pki.certFile}} {
		s := jhttp.NewServer()
		s.Addr, s.TLSCertFile, s.TLSKeyFile = "127.0.0.1:0", files[0], files[1]
		if err := s.Open(); err == nil {
			s.Close()
			t.Errorf("opened with certificate %q and key %q", files[0], files[1])
		}
	}
}

// TLS connections count against the cap like others, and one that serves a request
// is not shed: the cap sees through TLS to the connection beneath.
func TestTLSConnectionsCountAgainstTheCap(t *testing.T) {
	pki := newTestPKI(t)
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) {
		s.TLSCertFile, s.TLSKeyFile, s.MaxConns = pki.certFile, pki.keyFile, 1
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pki.caPEM)
	busy, err := tls.Dial("tcp", hostPort(s), &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	head := fmt.Sprintf("POST /api/v1/apply HTTP/1.1\r\nHost: joule\r\nAuthorization: Bearer %s\r\nContent-Type: application/yaml\r\nContent-Length: 100\r\n\r\nmodels:\n", opToken(s))
	if _, err := busy.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the server reads the request over TLS", func() bool {
		st := s.Conns()
		return st.Open == 1 && st.Waiting == 0
	})
	c := client(s)
	if err := c.TrustCA(pki.caPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sites(context.Background()); err == nil {
		t.Error("a request was served beside a busy TLS connection at a cap of one")
	}
	if st := s.Conns(); st.Refused == 0 || st.Shed != 0 {
		t.Errorf("connections %+v: want the new one refused, the busy one kept", st)
	}
}
