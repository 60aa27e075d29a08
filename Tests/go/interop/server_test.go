package interop

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// How long the server may take to print its "listening on" line, and to exit after SIGTERM.
const (
	startupTimeout  = 60 * time.Second
	shutdownTimeout = 10 * time.Second
)

var listeningLine = regexp.MustCompile(`listening on 127\.0\.0\.1:(\d+)`)

// serverProcess is a running `storefront serve` on a free loopback port with a data folder of
// its own, and everything it has logged so far (its logs go to stderr, the "listening on" line
// to stdout).
type serverProcess struct {
	cmd     *exec.Cmd
	address string
	dataDir string

	mu      sync.Mutex
	changed *sync.Cond
	logged  []string
	exited  bool
}

// startServer runs `storefront serve` on dataDir with extraArgs and waits for its port.
func startServer(dataDir string, extraArgs ...string) (*serverProcess, error) {
	args := append([]string{"serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir}, extraArgs...)
	cmd := exec.Command(storefrontBinary(), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	server := &serverProcess{cmd: cmd, dataDir: dataDir}
	server.changed = sync.NewCond(&server.mu)
	ports := make(chan string, 1)
	go server.readStdout(stdout, ports)
	go server.readStderr(stderr)
	select {
	case port, ok := <-ports:
		if ok {
			server.address = "127.0.0.1:" + port
			return server, nil
		}
	case <-time.After(startupTimeout):
	}
	server.stop()
	return nil, fmt.Errorf("the server printed no 'listening on 127.0.0.1:PORT' line; its log:\n%s", server.logTail(40))
}

func (s *serverProcess) readStdout(stdout io.Reader, ports chan<- string) {
	lines := bufio.NewScanner(stdout)
	announced := false
	for lines.Scan() {
		if match := listeningLine.FindStringSubmatch(lines.Text()); match != nil && !announced {
			announced = true
			ports <- match[1]
		}
	}
	if !announced {
		close(ports)
	}
}

func (s *serverProcess) readStderr(stderr io.Reader) {
	lines := bufio.NewScanner(stderr)
	lines.Buffer(make([]byte, 64*1024), 1<<20)
	for lines.Scan() {
		s.mu.Lock()
		s.logged = append(s.logged, lines.Text())
		s.changed.Broadcast()
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.exited = true
	s.changed.Broadcast()
	s.mu.Unlock()
}

// waitForLog returns the first match of pattern in a logged line, waiting up to timeout.
func (s *serverProcess) waitForLog(pattern *regexp.Regexp, timeout time.Duration) ([]string, error) {
	timer := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	for checked := 0; ; {
		for ; checked < len(s.logged); checked++ {
			if match := pattern.FindStringSubmatch(s.logged[checked]); match != nil {
				return match, nil
			}
		}
		if s.exited || time.Now().After(deadline) {
			return nil, fmt.Errorf("the server logged no line matching %q", pattern)
		}
		s.changed.Wait()
	}
}

// logTail is the last n lines the server logged.
func (s *serverProcess) logTail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := len(s.logged) - n
	if from < 0 {
		from = 0
	}
	return strings.Join(s.logged[from:], "\n")
}

// stop sends SIGTERM and waits, killing the server if it outstays shutdownTimeout.
func (s *serverProcess) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func storefrontBinary() string {
	return os.Getenv("STOREFRONT_BIN")
}

// testPassword is every user's password; testHashCost makes their scrypt hashes cheap.
const (
	testPassword = "go-interop-password"
	testHashCost = "10"
)

// addUser adds a user to a data folder with `storefront user add` (a running server sees it);
// a user that exists already is left as it is.
func addUser(dataDir, username, role string) error {
	cmd := exec.Command(storefrontBinary(), "user", "add", username, "--role", role,
		"--password-stdin", "--hash-cost", testHashCost, "--data-dir", dataDir)
	cmd.Stdin = strings.NewReader(testPassword + "\n")
	output, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(output), "already exists") {
		return fmt.Errorf("storefront user add %s: %v\n%s", username, err, output)
	}
	return nil
}
