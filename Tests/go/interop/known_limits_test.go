package interop

import (
	"os"
	"strings"
	"testing"
)

// Known limits are behaviours of the server's transport that the suite pins as strict
// expected failures, as the Python suite does with xfail(strict=True): while a limit is known,
// its test must fail in the way the limit says, and passing fails it, so that a transport that
// fixes the limit shows at once and the limit is taken off the list.
const (
	// bdpPingCutoff: grpc-swift-nio-transport 2.9.2 builds swift-nio-http2's NIOHTTP2Handler
	// with its default DoS heuristics, which close a connection with GOAWAY ENHANCE_YOUR_CALM
	// (last stream 0) once the peer has sent more than 200 PING, SETTINGS, PRIORITY, ALTSVC or
	// ORIGIN frames within 30 seconds, data flowing or not; grpc-go's BDP estimator pings about
	// once a round trip while it receives data (docs/grpc-go-interop.md).
	bdpPingCutoff = "bdp-ping-cutoff"
)

// stockTransportLimits are the limits of the stock transport (`--transport nio`). The
// Storefront transport, the server's default, has none of them.
var stockTransportLimits = []string{bdpPingCutoff}

// defaultKnownLimits are the limits of the transport the suite's servers run on: the
// server's default, or STOREFRONT_TRANSPORT (which `storefront serve` reads too).
func defaultKnownLimits() []string {
	if os.Getenv("STOREFRONT_TRANSPORT") == "nio" {
		return stockTransportLimits
	}
	return nil
}

// knownLimit says whether limit is known for the server under test: STOREFRONT_KNOWN_LIMITS
// (space-separated names; set and empty: none) or, unset, defaultKnownLimits.
func knownLimit(limit string) bool {
	limits := defaultKnownLimits()
	if value, set := os.LookupEnv("STOREFRONT_KNOWN_LIMITS"); set {
		limits = strings.Fields(value)
	}
	for _, known := range limits {
		if known == limit {
			return true
		}
	}
	return false
}

// expectUnlessKnown fails the test when failure is not nil, unless limit is known; then it
// fails the test when showed is false (the limit did not show: take it off the list).
func expectUnlessKnown(t *testing.T, limit string, failure error, showed bool) {
	t.Helper()
	switch {
	case !knownLimit(limit) && failure != nil:
		t.Fatal(failure)
	case knownLimit(limit) && !showed:
		t.Fatalf("the known limit %s did not show (failure: %v): if the transport fixed it, take it off "+
			"the known limits (known_limits_test.go, STOREFRONT_KNOWN_LIMITS)", limit, failure)
	case knownLimit(limit):
		t.Logf("known limit %s, as expected: %v", limit, failure)
	}
}
