package bitcoind_test

import (
	"bytes"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/joule-site/joule/syncbuf"
)

// btcdNode is a btcd in simnet that a test started and owns.
type btcdNode struct {
	host       string
	user, pass string
	rpc        *rpcclient.Client // for what only a test does: generate, sendrawtransaction
	key        *btcec.PrivateKey // the key the node's coinbases pay
}

// startBtcd starts btcd (the module's tool, go.mod's `tool github.com/btcsuite/btcd`)
// in simnet on a free loopback port, with its data in a temporary directory, and stops
// it when the test ends. It skips the test when the tool cannot be built.
func startBtcd(t *testing.T) *btcdNode {
	t.Helper()
	out, err := exec.Command("go", "tool", "-n", "btcd").CombinedOutput()
	if err != nil {
		t.Skipf("btcd tool cannot be built (go tool -n btcd): %v\n%s", err, out)
	}
	bin := strings.TrimSpace(string(out))

	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{7}, 32))
	pkHash := address.Hash160(key.PubKey().SerializeCompressed())
	miningAddr, err := address.NewAddressPubKeyHash(pkHash, &chaincfg.SimNetParams)
	if err != nil {
		t.Fatal(err)
	}

	n := &btcdNode{host: "127.0.0.1:" + freePort(t), user: "joule", pass: "simnet-only", key: key}
	dir := t.TempDir()
	var logs syncbuf.Buffer
	cmd := exec.Command(bin,
		"--simnet", "--datadir="+dir+"/data", "--logdir="+dir+"/logs",
		"--rpclisten="+n.host, "--rpcuser="+n.user, "--rpcpass="+n.pass, "--notls",
		"--nolisten", "--nodnsseed", "--miningaddr="+miningAddr.EncodeAddress(),
		"--debuglevel=warn",
	)
	// Chain and logs go under dir. btcd still makes an empty ~/.btcd (its default home,
	// found through the user database, not $HOME) whatever its flags say.
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start btcd: %v", err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT) // btcd shuts down cleanly on interrupt
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	n.rpc, err = rpcclient.New(&rpcclient.ConnConfig{
		Host: n.host, User: n.user, Pass: n.pass, DisableTLS: true, HTTPPostMode: true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.rpc.Shutdown)

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("btcd exited before its RPC server answered: %v\n%s", exitErr, logs.String())
		default:
		}
		if conn, err := net.DialTimeout("tcp", n.host, time.Second); err == nil {
			conn.Close()
			if _, err := n.rpc.GetBlockCount(); err == nil {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("btcd's RPC server did not answer within 15 s\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// generate mines blocks and returns their hashes.
func (n *btcdNode) generate(t *testing.T, blocks uint32) []*chainhash.Hash {
	t.Helper()
	hashes, err := n.rpc.Generate(blocks)
	if err != nil {
		t.Fatalf("generate %d: %v", blocks, err)
	}
	return hashes
}

// spendCoinbase sends a transaction that spends the coinbase of the block with the
// given hash back to the mining key, paying fee satoshis to the next block's miner.
func (n *btcdNode) spendCoinbase(t *testing.T, blockHash *chainhash.Hash, fee int64) {
	t.Helper()
	block, err := n.rpc.GetBlock(blockHash)
	if err != nil {
		t.Fatal(err)
	}
	coinbase := block.Transactions[0]
	prev := coinbase.TxHash()
	out := coinbase.TxOut[0]

	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&prev, 0), nil, nil))
	tx.AddTxOut(wire.NewTxOut(out.Value-fee, out.PkScript))
	sig, err := txscript.SignatureScript(tx, 0, out.PkScript, txscript.SigHashAll, n.key, true)
	if err != nil {
		t.Fatal(err)
	}
	tx.TxIn[0].SignatureScript = sig
	if _, err := n.rpc.SendRawTransaction(tx, false); err != nil {
		t.Fatalf("sendrawtransaction: %v", err)
	}
}
