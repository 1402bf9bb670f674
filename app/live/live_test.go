package live_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"portal/app/apptest"
	"portal/app/live"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    live.Event
		ok      bool
	}{
		{"a thread's payload is read", "thread:42", live.Event{Topic: "thread", ID: 42}, true},
		{"underscores are allowed in a topic", "care_plan:7", live.Event{Topic: "care_plan", ID: 7}, true},
		{"the largest id is read", "person:9223372036854775807", live.Event{Topic: "person", ID: 1<<63 - 1}, true},
		{"an upper-case topic is refused", "Thread:1", live.Event{}, false},
		{"a topic with a digit is refused", "thread2:1", live.Event{}, false},
		{"an empty topic is refused", ":1", live.Event{}, false},
		{"a topic of 33 letters is refused", strings.Repeat("a", 33) + ":1", live.Event{}, false},
		{"a missing id is refused", "thread:", live.Event{}, false},
		{"a zero id is refused", "thread:0", live.Event{}, false},
		{"a negative id is refused", "thread:-1", live.Event{}, false},
		{"a leading zero is refused", "thread:042", live.Event{}, false},
		{"a plus sign is refused", "thread:+1", live.Event{}, false},
		{"a space is refused", "thread: 1", live.Event{}, false},
		{"a second colon is refused", "thread:1:2", live.Event{}, false},
		{"words are refused", "Jane Doe wrote", live.Event{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := live.ParseEvent(tt.payload)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Fatalf("ParseEvent(%q) = %v, %v; want %v", tt.payload, got, err, tt.want)
				}
				if got.String() != tt.payload {
					t.Fatalf("String() = %q, want %q", got.String(), tt.payload)
				}
				return
			}
			if !errors.Is(err, live.ErrInvalidEvent) {
				t.Fatalf("ParseEvent(%q) = %v, %v; want ErrInvalidEvent", tt.payload, got, err)
			}
		})
	}
}

func TestNotifyRefusesInvalidEvents(t *testing.T) {
	dsn := apptest.NewDatabase(t)
	m := newMachine(t, dsn, nil)
	wire := rawListener(t, dsn)
	tests := []struct {
		name string
		ev   live.Event
	}{
		{"an empty topic", live.Event{ID: 1}},
		{"an upper-case topic", live.Event{Topic: "Thread", ID: 1}},
		{"a topic with a hyphen", live.Event{Topic: "care-plan", ID: 1}},
		{"a topic with a line break", live.Event{Topic: "thread\n", ID: 1}},
		{"a topic with a colon", live.Event{Topic: "thread:1", ID: 1}},
		{"a topic of 33 letters", live.Event{Topic: strings.Repeat("a", 33), ID: 1}},
		{"a zero id", live.Event{Topic: "thread"}},
		{"a negative id", live.Event{Topic: "thread", ID: -4}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if err := live.Notify(context.Background(), m.db.Gorm, tt.ev); !errors.Is(err, live.ErrInvalidEvent) {
				t.Fatalf("Notify(%#v) = %v, want ErrInvalidEvent", tt.ev, err)
			}
		})
	}
	t.Run("nothing refused reached the wire, and a valid event is only its topic and id", func(t *testing.T) {
		if err := live.Notify(context.Background(), m.db.Gorm, live.Event{Topic: "thread", ID: 42}); err != nil {
			t.Fatal(err)
		}
		if got := nextPayload(t, wire); got != "thread:42" {
			t.Fatalf("first payload on the wire = %q, want %q", got, "thread:42")
		}
	})
}
