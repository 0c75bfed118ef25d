// Package gpunode is the client of the GPU servers' power API (package gpuapi): the
// agent commands a site's GPU servers through it and reads their telemetry.
//
// States map to the agent's: on → running, idle → sleeping, off → off. Replies are read
// strictly: a body that is not a gpuapi.Telemetry, larger than 1 MiB, cut short, or a
// state outside the three is an error for that server only. Changes take effect at once
// on the server; the agent still verifies each one by reading /telemetry.
//
// With Driver.Token set every request carries the servers' shared token; a server that
// refuses it (401) is EUNAUTHORIZED. A server that cannot read its GPUs (gpu_error)
// reads as power unknown, never as a server drawing nothing.
package gpunode
