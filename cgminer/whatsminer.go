package cgminer

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/joule-site/joule"
)

// Whatsminer's API 2.x protects its write commands (MicroBT's "WhatsminerAPI V2.0.x"
// document, as implemented by the public clients it was read in: pyasic's btminer RPC
// and satoshi-anonymoto/whatsminer-api):
//
//  1. {"cmd":"get_token"} returns Msg {"time","salt","newsalt"}
//     (whatsminer-v2/get_token-api1.1.json).
//  2. key  = md5-crypt(admin password, salt), the hash part after "$1$salt$";
//     sign = md5-crypt(key + time, newsalt), likewise.
//  3. The command {"cmd":…,"token":sign,…params} is padded with NULs to a multiple of
//     16 bytes, encrypted with AES-256 in ECB mode under sha256(key), base64-encoded
//     and sent as {"enc":1,"data":"<base64>"}.
//  4. The reply is {"enc":"<base64>"} under the same key
//     (whatsminer-v2/encrypted-reply-led-blink.json), its plain text a reply with
//     STATUS as a string; errors may come back unencrypted.

// whatsminerKeys are the secrets derived from one get_token.
type whatsminerKeys struct {
	sign  string
	block cipher.Block
}

// deriveWhatsminerKeys computes the token signature and the AES key from get_token's
// time, salt and newsalt.
func deriveWhatsminerKeys(password, tokenTime, salt, newSalt string) (*whatsminerKeys, error) {
	key := md5Crypt(password, salt)
	sum := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	return &whatsminerKeys{sign: md5Crypt(key+tokenTime, newSalt), block: block}, nil
}

// encrypt pads with NULs and encrypts block by block (ECB), base64-encoded.
func (k *whatsminerKeys) encrypt(plain []byte) string {
	n := (len(plain) + aes.BlockSize - 1) / aes.BlockSize * aes.BlockSize
	buf := make([]byte, max(n, aes.BlockSize))
	copy(buf, plain)
	for i := 0; i < len(buf); i += aes.BlockSize {
		k.block.Encrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// decrypt reverses encrypt and drops the NUL padding.
func (k *whatsminerKeys) decrypt(enc string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("encrypted reply: %w", err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, errors.New("encrypted reply is not a whole number of AES blocks")
	}
	for i := 0; i < len(buf); i += aes.BlockSize {
		k.block.Decrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
	}
	return bytes.TrimRight(buf, "\x00"), nil
}

// whatsminerRead sends a command in Whatsminer's own form, {"cmd":…}, which its
// status, get_token, get_version and get_psu commands use.
func (c *Client) whatsminerRead(ctx context.Context, command string) (*Reply, error) {
	req, err := json.Marshal(map[string]string{"cmd": command})
	if err != nil {
		return nil, err
	}
	raw, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	return c.parse(command, raw)
}

// whatsminerStatus reads the status command's Msg: {"btmineroff":"true",…} on API
// 1.x, {"mineroff":"false",…} on API 2.x (whatsminer-v2/status-*.json).
func (c *Client) whatsminerStatus(ctx context.Context) (Object, error) {
	r, err := c.whatsminerRead(ctx, "status")
	if err != nil {
		return nil, err
	}
	return r.First("Msg"), nil
}

// Privileged sends a Whatsminer API 2.x write command, encrypted with a fresh token as
// the API demands, and returns the decrypted reply. It needs the admin password
// (WithPassword).
func (c *Client) Privileged(ctx context.Context, command string, params map[string]string) (*Reply, error) {
	if c.password == "" {
		return nil, joule.Errorf(joule.EINVALID, "miner %s: %s needs the Whatsminer admin password", c.addr, command)
	}
	tok, err := c.whatsminerRead(ctx, "get_token")
	if err != nil {
		return nil, err
	}
	msg := tok.First("Msg")
	if msg == nil || msg.String("salt") == "" || msg.String("newsalt") == "" {
		// "Msg":"over max connect" and the like: the miner gives no token now.
		return nil, &APIError{Addr: c.addr, Command: "get_token", Status: tok.Status.Status, Code: tok.Status.Code, Msg: tok.Status.Msg}
	}
	keys, err := deriveWhatsminerKeys(c.password, msg.String("time"), msg.String("salt"), msg.String("newsalt"))
	if err != nil {
		return nil, err
	}
	body := map[string]string{"cmd": command, "token": keys.sign}
	for k, v := range params {
		body[k] = v
	}
	plain, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := json.Marshal(struct {
		Enc  int    `json:"enc"`
		Data string `json:"data"`
	}{1, keys.encrypt(plain)})
	if err != nil {
		return nil, err
	}
	raw, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	reply, err := ParseReply(raw)
	if err != nil {
		return nil, fmt.Errorf("miner %s: %s: %w", c.addr, command, err)
	}
	if enc, ok := reply.Raw["enc"].(string); ok {
		plain, err := keys.decrypt(enc)
		if err != nil {
			return nil, fmt.Errorf("miner %s: %s: %w", c.addr, command, err)
		}
		if reply, err = ParseReply(plain); err != nil {
			return nil, fmt.Errorf("miner %s: %s: decrypted reply: %w", c.addr, command, err)
		}
	}
	if err := c.check(command, reply); err != nil {
		return nil, err
	}
	return reply, nil
}

// PowerOff stops hashing on a Whatsminer (power_off): the hash boards power down,
// the control board stays up. The miner answers before it acts ("respbefore").
func (c *Client) PowerOff(ctx context.Context) error {
	_, err := c.Privileged(ctx, "power_off", map[string]string{"respbefore": "true"})
	return err
}

// PowerOn resumes hashing on a Whatsminer after PowerOff (power_on).
func (c *Client) PowerOn(ctx context.Context) error {
	_, err := c.Privileged(ctx, "power_on", nil)
	return err
}

// SetPowerPercent sets a Whatsminer's power to a percentage of its current power limit
// (set_power_pct), a temporary setting for demand response; 0 < percent ≤ 100.
func (c *Client) SetPowerPercent(ctx context.Context, percent int) error {
	if percent <= 0 || percent > 100 {
		return joule.Errorf(joule.EINVALID, "power percent %d is outside 1..100", percent)
	}
	_, err := c.Privileged(ctx, "set_power_pct", map[string]string{"percent": strconv.Itoa(percent)})
	return err
}
