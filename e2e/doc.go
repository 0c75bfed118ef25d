// Package e2e drives Joule's web dashboard in headless Chromium against a real
// `joule serve`, built from this tree and run as a child process: the pages load,
// their numbers move with the demo's clock, and an order placed through the Market
// page's form comes back as a lease. Its tests skip where Chromium is not installed.
package e2e
