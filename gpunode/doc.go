// Package gpunode speaks the control API of a site's GPU servers: a small HTTP JSON
// API on TCP port 8080 that a node daemon (or the simulator, sim.GPUServer) serves next
// to each 8-GPU server, with the server's power at the wall and the readings NVML gives
// per GPU. It is what the agent commands GPU servers through.
//
// The protocol, one request per call, JSON bodies, watts, bytes, fractions and °C:
//
//	GET  /telemetry    → 200 Telemetry
//	POST /power        {"state":"on"|"idle"|"off"}  → 200 Telemetry, 400 {"error":…}
//	POST /power-limit  {"power_limit_w":W}          → 200 Telemetry, 400 {"error":…}
//
// A Telemetry reply is
//
//	{"at":"2026-03-01T12:00:00Z", "state":"on", "power_w":9350, "power_limit_w":10200,
//	 "utilization":0.9, "memory_used_bytes":…, "memory_total_bytes":…, "temperature_c":72,
//	 "gpus":[{"index":0, "power_w":637, "power_limit_w":700, "utilization":0.9,
//	          "memory_used_bytes":…, "memory_total_bytes":…, "temperature_c":72}, …]}
//
// "on" serves tenant work, "idle" keeps the host up with its GPUs idle (the server's
// curtailed state: it serves again at once), "off" powers the host down and leaves the
// BMC that answers the API. power_limit_w caps the draw at the wall while the server
// serves, as a BMC's chassis power cap does; 0 removes the cap and a limit below the idle
// draw is refused. Changes take effect at once; the agent still verifies each one by
// reading /telemetry.
//
// States map to the agent's: on → running, idle → sleeping, off → off. Replies are read
// strictly: a body that is not the JSON above, larger than 1 MiB, cut short, or a state
// outside the three is an error for that server only.
package gpunode
