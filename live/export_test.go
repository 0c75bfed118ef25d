package live

// LeaseTargets is leaseTargets, for the tests of package live_test.
var LeaseTargets = leaseTargets
