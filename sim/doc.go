// Package sim simulates the machines a Joule site runs, for tests, benchmarks and the
// demo: Bitcoin miners that speak the cgminer API on TCP (as LuxOS does, with its
// logon, curtail and power profiles) and GPU servers that speak a small HTTP JSON API.
// Each device listens on its own loopback address (Linux routes all of 127.0.0.0/8 to
// the loopback interface, so 127.0.0.5:4028 works without setup), and a Fleet starts
// thousands of them across an address range; a fleet beyond the open-file limit
// answers for all its miners on one socket bound to the loopback device. A Meter
// serves a fleet's true power over Modbus TCP, as a site's meter at the feed does.
//
// Power follows state as on real machines: a miner draws its profile's power while it
// hashes and its idle power asleep, takes about a second to go to sleep and tens of
// seconds to wake. Time comes from a Clock, so tests move a FakeClock past the ramps
// instead of waiting. Fault modes make a device hang, answer slowly, send garbage, cut
// its reply short, or lie about curtailment, so that the code which commands devices
// and verifies them by telemetry can be tested against misbehaviour.
package sim
