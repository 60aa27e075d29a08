package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// pythonChatMember is a member on grpcio, run by testdata/chat_member.py.
type pythonChatMember struct {
	chatMember
	cmd   *exec.Cmd
	input io.WriteCloser

	mu     sync.Mutex
	stderr bytes.Buffer
}

// joinWithPython starts a Python member that joins room as name. STOREFRONT_PYTHON names a
// Python with grpcio and grpcio-tools; STOREFRONT_PROTOS the folder of the protos.
func joinWithPython(t *testing.T, name, room string) *pythonChatMember {
	t.Helper()
	python, protos := os.Getenv("STOREFRONT_PYTHON"), os.Getenv("STOREFRONT_PROTOS")
	if python == "" || protos == "" {
		t.Fatal("STOREFRONT_PYTHON and STOREFRONT_PROTOS must name a Python with grpcio and the protos folder (scripts/go-tests.sh sets both)")
	}
	token, err := shared.tokenFor(name, "shopper")
	if err != nil {
		t.Fatal(err)
	}
	member := &pythonChatMember{chatMember: chatMember{name: name, events: make(chan chatEvent, 1000)}}
	member.cmd = exec.Command(python, "testdata/chat_member.py", shared.address(), room, protos)
	member.cmd.Env = append(os.Environ(), "STOREFRONT_TOKEN="+token)
	member.cmd.Stderr = &lockedWriter{mu: &member.mu, buffer: &member.stderr}
	if member.input, err = member.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	output, err := member.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := member.cmd.Start(); err != nil {
		t.Fatalf("starting the Python member: %v", err)
	}
	t.Cleanup(func() {
		_ = member.cmd.Process.Kill()
		_ = member.cmd.Wait()
		if t.Failed() {
			t.Logf("the Python member's stderr:\n%s", member.stderrText())
		}
	})
	go member.read(output)
	return member
}

func (m *pythonChatMember) read(output io.Reader) {
	lines := bufio.NewScanner(output)
	for lines.Scan() {
		var event chatEvent
		if err := json.Unmarshal(lines.Bytes(), &event); err != nil {
			event = chatEvent{End: "unreadable output: " + lines.Text()}
		}
		m.events <- event
		if event.End != "" {
			return
		}
	}
	m.events <- chatEvent{End: "exited without an end line"}
}

func (m *pythonChatMember) say(t *testing.T, text string) { m.command(t, "say "+text) }

// leave sends a LEAVE and ends the member's side of the stream.
func (m *pythonChatMember) leave(t *testing.T) { m.command(t, "leave") }

func (m *pythonChatMember) command(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(m.input, line+"\n"); err != nil {
		t.Fatalf("the Python member does not take commands: %v\n%s", err, m.stderrText())
	}
}

// drain reads to the end of the member's stream and returns its status code's name.
func (m *pythonChatMember) drain(t *testing.T) string {
	t.Helper()
	var received []chatEvent
	for {
		event := m.next(t, received)
		if event.End != "" {
			return event.End
		}
		received = append(received, event)
	}
}

func (m *pythonChatMember) stderrText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

// lockedWriter appends to a buffer under a lock, for a process's output read meanwhile.
type lockedWriter struct {
	mu     *sync.Mutex
	buffer *bytes.Buffer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buffer.Write(b)
}

func statusCode(err error) codes.Code { return status.Code(err) }
