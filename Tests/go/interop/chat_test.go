package interop

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "storefront/gen/storefrontv1"
)

// readTimeout is how long a chat member waits for the next message before the test fails.
const readTimeout = 10 * time.Second

// chatEvent is a message a member received, as both kinds of member report it, or the end of
// its stream (end is the status code's name then).
type chatEvent struct {
	Kind     string `json:"kind"`
	Sequence int64  `json:"sequence"`
	Sender   string `json:"sender"`
	Text     string `json:"text"`
	End      string `json:"end"`
}

func (e chatEvent) String() string {
	if e.End != "" {
		return "end " + e.End
	}
	return fmt.Sprintf("#%d %s %s %q", e.Sequence, e.Kind, e.Sender, e.Text)
}

// chatMember is one member's stream of events, whichever client it is.
type chatMember struct {
	name   string
	events chan chatEvent
}

// next is the member's next event; the test fails if none comes within readTimeout.
func (m *chatMember) next(t *testing.T, after []chatEvent) chatEvent {
	t.Helper()
	select {
	case event := <-m.events:
		return event
	case <-time.After(readTimeout):
		t.Fatalf("%s received nothing within %v after %v", m.name, readTimeout, after)
		return chatEvent{}
	}
}

// receiveUntil reads up to and including the first event that done accepts.
func (m *chatMember) receiveUntil(t *testing.T, done func(chatEvent) bool) []chatEvent {
	t.Helper()
	var received []chatEvent
	for {
		event := m.next(t, received)
		if event.End != "" {
			t.Fatalf("%s's stream ended (%s) after %v", m.name, event.End, received)
		}
		received = append(received, event)
		if done(event) {
			return received
		}
	}
}

// messages reads until count MESSAGE events have come, and returns those.
func (m *chatMember) messages(t *testing.T, count int) []chatEvent {
	t.Helper()
	var said []chatEvent
	m.receiveUntil(t, func(event chatEvent) bool {
		if event.Kind == "MESSAGE" {
			said = append(said, event)
		}
		return len(said) == count
	})
	return said
}

func joinOf(name string) func(chatEvent) bool {
	return func(event chatEvent) bool { return event.Kind == "JOIN" && event.Sender == name }
}

// goChatMember is a member on grpc-go.
type goChatMember struct {
	chatMember
	stream pb.ProductService_ChatClient
}

func joinWithGo(t *testing.T, name, room string) *goChatMember {
	t.Helper()
	token, err := shared.tokenFor(name, "shopper")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	stream, err := pb.NewProductServiceClient(dialT(t, shared.address(), withToken(token))).Chat(ctx)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	member := &goChatMember{chatMember: chatMember{name: name, events: make(chan chatEvent, 1000)}, stream: stream}
	go member.read()
	member.send(t, pb.ChatMessage_JOIN, room, "")
	return member
}

func (m *goChatMember) read() {
	for {
		message, err := m.stream.Recv()
		if err != nil {
			code := codes.OK
			if err != io.EOF {
				code = statusCode(err)
			}
			m.events <- chatEvent{End: code.String()}
			return
		}
		m.events <- chatEvent{Kind: message.Kind.String(), Sequence: message.Sequence, Sender: message.Sender, Text: message.Text}
	}
}

func (m *goChatMember) send(t *testing.T, kind pb.ChatMessage_Kind, room, text string) {
	t.Helper()
	if err := m.stream.Send(&pb.ChatMessage{Kind: kind, Room: room, Text: text}); err != nil {
		t.Fatalf("%s's Send: %v", m.name, err)
	}
}

// A Go member and a Python member in one room see the same messages, with the same
// sequences, in the same order; each member's own messages keep the order they were sent in,
// and each sees the other come and go.
func TestChatOfAGoAndAPythonMemberIsOneRoomInOneOrder(t *testing.T) {
	const perMember = 10
	room := createProduct(t, nil).Id
	python := joinWithPython(t, "py-member", room)
	python.receiveUntil(t, joinOf("py-member"))
	golang := joinWithGo(t, "go-member", room)
	goJoin := golang.receiveUntil(t, joinOf("go-member"))
	python.receiveUntil(t, joinOf("go-member"))

	for i := 0; i < perMember; i++ {
		python.say(t, fmt.Sprintf("py %d", i))
	}
	for i := 0; i < perMember; i++ {
		golang.send(t, pb.ChatMessage_MESSAGE, room, fmt.Sprintf("go %d", i))
	}
	seenByGo := golang.messages(t, 2*perMember)
	seenByPython := python.messages(t, 2*perMember)

	if !reflect.DeepEqual(seenByGo, seenByPython) {
		t.Fatalf("the members saw different rooms:\ngo:     %v\npython: %v", seenByGo, seenByPython)
	}
	last := goJoin[len(goJoin)-1].Sequence
	for _, event := range seenByGo {
		if event.Sequence <= last {
			t.Fatalf("sequences must increase past the go member's join (%d): %v", goJoin[len(goJoin)-1].Sequence, seenByGo)
		}
		last = event.Sequence
	}
	for _, sender := range []string{"go", "py"} {
		var texts []string
		for _, event := range seenByGo {
			if event.Sender == sender+"-member" {
				texts = append(texts, event.Text)
			}
		}
		var want []string
		for i := 0; i < perMember; i++ {
			want = append(want, fmt.Sprintf("%s %d", sender, i))
		}
		if !reflect.DeepEqual(texts, want) {
			t.Fatalf("%s-member's messages came as %v, want %v", sender, texts, want)
		}
	}

	python.leave(t)
	left := golang.receiveUntil(t, func(event chatEvent) bool { return event.Kind == "LEAVE" })
	if sender := left[len(left)-1].Sender; sender != "py-member" {
		t.Fatalf("the LEAVE was from %q, want py-member", sender)
	}
	if end := python.drain(t); end != "OK" {
		t.Fatalf("the python member's stream ended %s, want OK", end)
	}
	if err := golang.stream.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	for event := golang.next(t, nil); event.End == ""; event = golang.next(t, nil) {
	}
}
