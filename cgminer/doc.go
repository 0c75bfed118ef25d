// Package cgminer speaks the miner RPC family on TCP port 4028: cgminer and its
// forks (Bitmain bmminer, Braiins BOSminer, LuxOS LUXminer, Vnish, Hiveon, asicseer),
// Canaan Avalon, and the Whatsminer btminer API 2.x.
//
// Every request opens its own TCP connection, writes one command and reads the reply
// until the peer closes the connection or sends a NUL byte, as these APIs expect.
// Replies are parsed tolerantly: real firmware sends JSON with missing commas, bare nan,
// invalid escapes, trailing bytes and STATUS given as a string (see ParseReply and
// testdata/SOURCES.md for the recorded replies that show each quirk).
//
// Client.Status reads a miner and normalizes it into a joule.Telemetry. The controls
// that dispatch needs are here too: LuxOS curtail (sleep/wakeup) and power profiles,
// Whatsminer power_off/power_on/set_power_pct over its encrypted API, Avalon
// softoff/softon, and the cgminer pool commands.
package cgminer
