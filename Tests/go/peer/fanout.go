package main

import "sync"

// queueCapacity is how many messages a subscriber's queue holds; past that the oldest is
// dropped, silently, as the Swift baseline's AsyncStream(bufferingNewest: 256) does.
const queueCapacity = 256

// fanOut is groups of subscribers kept in memory, each group with its own sequence: what is
// published to a group goes to every subscriber of it, in one order. The peer's chat rooms
// are groups named by room; its change feed is one group. It mirrors BaselineFanOut.swift.
type fanOut[Message any] struct {
	mu             sync.Mutex
	nextSubscriber int
	groups         map[string]*group[Message]
}

type group[Message any] struct {
	sequence    int64
	subscribers map[int]*subscription[Message]
}

// subscription is one subscriber's view: what is published to its group from the moment it
// subscribed, in messages, closed by finish or when the subscriber leaves.
type subscription[Message any] struct {
	fan      *fanOut[Message]
	group    string
	id       int
	messages chan Message
	finished bool
}

func newFanOut[Message any]() *fanOut[Message] {
	return &fanOut[Message]{groups: map[string]*group[Message]{}}
}

// subscribe joins name; the caller must call finish when it leaves.
func (f *fanOut[Message]) subscribe(name string) *subscription[Message] {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextSubscriber++
	current, ok := f.groups[name]
	if !ok {
		current = &group[Message]{subscribers: map[int]*subscription[Message]{}}
		f.groups[name] = current
	}
	subscriber := &subscription[Message]{
		fan: f, group: name, id: f.nextSubscriber, messages: make(chan Message, queueCapacity),
	}
	current.subscribers[subscriber.id] = subscriber
	return subscriber
}

// finish leaves the group and closes messages after what they hold; it may be called twice.
func (s *subscription[Message]) finish() {
	s.fan.mu.Lock()
	defer s.fan.mu.Unlock()
	if s.finished {
		return
	}
	s.finished = true
	if current, ok := s.fan.groups[s.group]; ok {
		delete(current.subscribers, s.id)
		if len(current.subscribers) == 0 {
			delete(s.fan.groups, s.group)
		}
	}
	close(s.messages)
}

// publish gives the next sequence of name to the message that build makes and sends it to
// every subscriber of name; it returns that sequence (0: no subscriber, nothing sent).
func (f *fanOut[Message]) publish(name string, build func(sequence int64) Message) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	current, ok := f.groups[name]
	if !ok {
		return 0
	}
	current.sequence++
	message := build(current.sequence)
	for _, subscriber := range current.subscribers {
		select {
		case subscriber.messages <- message:
		default: // Full: drop the oldest. Only publishers send, under f.mu, so this fits.
			select {
			case <-subscriber.messages:
			default:
			}
			subscriber.messages <- message
		}
	}
	return current.sequence
}
