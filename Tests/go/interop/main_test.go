// Package interop drives a real `storefront serve` with a stock grpc-go client (Debian's
// golang-google-grpc-dev) and checks every RPC's contract as a client nobody here wrote sees
// it. STOREFRONT_BIN names the binary; STOREFRONT_PYTHON a Python with grpcio (the chat test's
// second member). scripts/go-tests.sh sets both and runs the suite.
package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// Settings of the shared server.
const (
	// demoCatalogSize products are there before any test writes.
	demoCatalogSize = 10000
	// maxImageBytes lets the 64 MiB upload through.
	maxImageBytes = 80 << 20
	// adminUsername is the admin every shared connection is signed in as.
	adminUsername = "go-admin"
)

// shared is the server most tests use, started by TestMain.
var shared *testServer

// testServer is a running server and what tests need of it: connections signed in as the
// admin and as nobody, tokens of further users, and its metrics address.
type testServer struct {
	process    *serverProcess
	admin      *grpc.ClientConn
	anonymous  *grpc.ClientConn
	metricsURL string

	mu     sync.Mutex
	tokens map[string]string
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if storefrontBinary() == "" {
		fmt.Fprintln(os.Stderr, "STOREFRONT_BIN is not set: point it at the storefront executable (scripts/go-tests.sh does)")
		return 2
	}
	folder, err := os.MkdirTemp("", "storefront-go-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(folder)
	server, err := startTestServer(filepath.Join(folder, "data"),
		"--demo-catalog", fmt.Sprint(demoCatalogSize),
		"--max-image-bytes", fmt.Sprint(maxImageBytes),
		"--metrics-port", "0",
		"--log-level", "info",
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer server.stop()
	shared = server
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "the shared server's last log lines:\n%s\n", server.process.logTail(40))
	}
	return code
}

// metricsLine is the server's "serving metrics" line, the url before or after the message.
var metricsLine = regexp.MustCompile(`(http://127\.0\.0\.1:\d+/metrics).*serving metrics|serving metrics.*(http://127\.0\.0\.1:\d+/metrics)`)

// startTestServer starts a server on dataDir after adding the admin there, and signs in.
func startTestServer(dataDir string, extraArgs ...string) (*testServer, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if err := addUser(dataDir, adminUsername, "admin"); err != nil {
		return nil, err
	}
	process, err := startServer(dataDir, extraArgs...)
	if err != nil {
		return nil, err
	}
	server := &testServer{process: process, tokens: map[string]string{}}
	if server.anonymous, err = dial(process.address); err == nil {
		var token string
		if token, err = server.tokenFor(adminUsername, "admin"); err == nil {
			server.admin, err = dial(process.address, withToken(token))
		}
	}
	for _, arg := range extraArgs {
		if arg == "--metrics-port" && err == nil {
			var match []string
			match, err = process.waitForLog(metricsLine, 10*time.Second)
			if err == nil {
				server.metricsURL = match[1] + match[2]
			}
		}
	}
	if err != nil {
		server.stop()
		return nil, err
	}
	return server, nil
}

func (s *testServer) address() string { return s.process.address }

// tokenFor signs username in (adding them with role first if they are new); one sign-in
// per user.
func (s *testServer) tokenFor(username, role string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token, ok := s.tokens[username]; ok {
		return token, nil
	}
	if err := addUser(s.process.dataDir, username, role); err != nil {
		return "", err
	}
	token, err := login(s.anonymous, username, testPassword)
	if err != nil {
		return "", fmt.Errorf("login %s: %v", username, err)
	}
	s.tokens[username] = token
	return token, nil
}

func (s *testServer) stop() {
	for _, conn := range []*grpc.ClientConn{s.admin, s.anonymous} {
		if conn != nil {
			conn.Close()
		}
	}
	s.process.stop()
}
