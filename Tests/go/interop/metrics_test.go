package interop

import (
	"bufio"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pollTimeout is how long a test waits for the server's metrics to show what it expects.
const pollTimeout = 10 * time.Second

// productServiceMethod is how the metrics name a ProductService RPC.
func productServiceMethod(rpc string) string { return "storefront.v1.ProductService/" + rpc }

// sample is one line of Prometheus' text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrapeMetrics reads the shared server's /metrics.
func scrapeMetrics() ([]sample, error) {
	response, err := http.Get(shared.metricsURL)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", shared.metricsURL, response.Status)
	}
	var samples []sample
	lines := bufio.NewScanner(response.Body)
	for lines.Scan() {
		match := sampleLine.FindStringSubmatch(lines.Text())
		if match == nil || strings.HasPrefix(lines.Text(), "#") {
			continue
		}
		value, err := strconv.ParseFloat(match[3], 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, pair := range labelPair.FindAllStringSubmatch(match[2], -1) {
			labels[pair[1]] = pair[2]
		}
		samples = append(samples, sample{name: match[1], labels: labels, value: value})
	}
	return samples, lines.Err()
}

// metricValue sums the samples named name whose labels include every pair of want; a "code"
// label matches in either spelling (cancelled, CANCELLED; deadlineExceeded, DEADLINE_EXCEEDED).
func metricValue(samples []sample, name string, want map[string]string) float64 {
	total := 0.0
	for _, s := range samples {
		if s.name == name && labelsMatch(s.labels, want) {
			total += s.value
		}
	}
	return total
}

func labelsMatch(labels, want map[string]string) bool {
	for key, value := range want {
		got := labels[key]
		if key == "code" {
			got, value = normalizedCode(got), normalizedCode(value)
		}
		if got != value {
			return false
		}
	}
	return true
}

func normalizedCode(code string) string {
	return strings.ToLower(strings.ReplaceAll(code, "_", ""))
}

// rpcCounts is what the metrics say of one RPC: how many are in flight, and how many ended
// with code.
func rpcCounts(t *testing.T, rpc, code string) (inFlight, ended float64) {
	t.Helper()
	samples, err := scrapeMetrics()
	if err != nil {
		t.Fatalf("scraping the metrics: %v", err)
	}
	method := map[string]string{"method": productServiceMethod(rpc)}
	inFlight = metricValue(samples, "storefront_rpc_in_flight", method)
	ended = metricValue(samples, "storefront_rpc_handled_total", map[string]string{"method": method["method"], "code": code})
	return inFlight, ended
}

// expectRPCFreed waits until the server has no rpc in flight and has counted more than
// endedBefore of them ending with code: the server let go of the call, not just the client.
func expectRPCFreed(t *testing.T, rpc, code string, endedBefore float64) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for {
		inFlight, ended := rpcCounts(t, rpc, code)
		if inFlight == 0 && ended > endedBefore {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the server still has %v %s in flight and counted %v ending %s (%v before)",
				pollTimeout, inFlight, rpc, ended, code, endedBefore)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
