// Package joule holds the domain of a power-constrained compute site: sites and their
// power caps, hardware models, fleets, energy price models, and the units money, power
// and bitcoin are counted in. It also declares the services the rest of the code talks
// through. It imports only the standard library.
//
// Logic lives in packages named by what they decide (econ, history, catalog, manifest);
// adapters are named by the technology they speak (sqlite, http); cmd/joule wires them.
package joule
