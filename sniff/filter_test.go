package sniff

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/filter"
	"github.com/chatsniff/chatsniff/render"
)

// eventRecorder keeps copies of the events; as a SinkOutput (not a
// batchOutput) the run reads the chat on its main loop.
type eventRecorder struct{ events []decode.Event }

func (r *eventRecorder) Event(e *decode.Event) { r.events = append(r.events, cloneEvent(e)) }

// recordEvents decodes a capture unfiltered, with the chat read.
func recordEvents(t *testing.T, path string) []decode.Event {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var rec eventRecorder
	if _, err := Run(context.Background(), src, Options{KeyLog: keyLogFor(t, path)}, SinkOutput{&rec}); err != nil {
		t.Fatal(err)
	}
	return rec.events
}

// compactLines runs a capture as `chatsniff read --compact` with opts:
// one line per event.
func compactLines(t *testing.T, path string, opts Options) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &Command{
		Open:       func() (capture.Source, error) { return capture.OpenFile(path) },
		Name:       filepath.Base(path),
		Color:      render.ColorNever,
		Compact:    true,
		Stdout:     &out,
		Stderr:     &errOut,
		Options:    opts,
		KeyLogPath: keysFor(path),
	}
	if err := c.Execute(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// TestFilterSameLines: on every real capture, a filtered run prints, for
// the messages that pass, the very lines the unfiltered run prints, in
// the same order, and the open/gap/error/close lines of their
// connections and no others; on the file path (the output's stages
// filter) and on the main loop's (with -c, and as live captures are
// read, the file standing in for the interface). Which messages pass is
// worked out here from the unfiltered events, independently of package
// filter.
func TestFilterSameLines(t *testing.T) {
	for _, path := range captures(t) {
		name := filepath.Base(path)
		events := recordEvents(t, path)
		all := compactLines(t, path, Options{})
		if len(all) != len(events) {
			t.Fatalf("%s: %d lines for %d events: the test needs one line an event", name, len(all), len(events))
		}
		passed := 0
		for _, tc := range filterCases(events) {
			if _, err := filter.New(tc.o); err != nil {
				t.Fatalf("%s: %+v: %v", name, tc.o, err)
			}
			shown := map[uint64]bool{}
			var wantMsgs []string
			for i := range events {
				if e := &events[i]; e.Kind == decode.KindMessage && tc.pass(e) {
					shown[e.ConnID] = true
					wantMsgs = append(wantMsgs, all[i])
				}
			}
			passed += len(wantMsgs)
			var want []string
			for i := range events {
				if e := &events[i]; shown[e.ConnID] && (e.Kind != decode.KindMessage || tc.pass(e)) {
					want = append(want, all[i])
				}
			}
			for _, path2 := range []struct {
				name string
				max  int
				live bool
			}{{"stages", 0, false}, {"main loop", 1 << 30, false}, {"live", 0, true}} {
				t.Run(name+"/"+tc.name+"/"+path2.name, func(t *testing.T) {
					f, _ := filter.New(tc.o)
					got := compactLines(t, path, Options{Filter: f, MaxMessages: path2.max, Live: path2.live})
					if len(got) == 1 && got[0] == "" {
						got = nil
					}
					var gotMsgs []string
					for _, l := range got {
						if slices.Contains(wantMsgs, l) {
							gotMsgs = append(gotMsgs, l)
						}
					}
					if !slices.Equal(gotMsgs, wantMsgs) {
						t.Errorf("%d messages shown, want %d: %s", len(gotMsgs), len(wantMsgs), firstDiff(strings.Join(gotMsgs, "\n"), strings.Join(wantMsgs, "\n")))
					}
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("%d lines, want %d: %s", len(got), len(want), firstDiff(strings.Join(got, "\n"), strings.Join(want, "\n")))
					}
				})
			}
		}
		if passed == 0 {
			t.Errorf("%s: no message passed any filter: the test checked nothing", name)
		}
	}
}

type filterCase struct {
	name string
	o    filter.Options
	pass func(e *decode.Event) bool
}

// filterCases makes filters from what a capture holds: its first users,
// a word of a message, its second connection, the middle of its time.
func filterCases(events []decode.Event) []filterCase {
	var users []string
	var msgs []*decode.Event
	for i := range events {
		e := &events[i]
		if e.Kind != decode.KindMessage {
			continue
		}
		msgs = append(msgs, e)
		if u := e.Talk.From; u != "" && !slices.Contains(users, u) && len(users) < 2 {
			users = append(users, u)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	cases := []filterCase{
		{"type say", filter.Options{Types: []string{"say", "chat message"}}, func(e *decode.Event) bool {
			return e.Talk.Type == "say" || e.Talk.Type == "chat message"
		}},
		{"conn 2 from client", filter.Options{Conn: "2", From: "client"}, func(e *decode.Event) bool {
			return e.ConnID == 2 && e.FromClient
		}},
	}
	for _, u := range users {
		cases = append(cases, filterCase{"user " + u, filter.Options{Users: []string{u}}, func(e *decode.Event) bool {
			return e.Talk.From == u || e.Talk.To == u
		}})
	}
	// A word of the middle message, as a regular expression.
	mid := msgs[len(msgs)/2]
	if w := regexp.MustCompile(`[a-z]{4,}`).Find(mid.Payload); w != nil {
		re := regexp.MustCompile(regexp.QuoteMeta(string(w)))
		cases = append(cases, filterCase{"grep " + string(w), filter.Options{Grep: re.String()}, func(e *decode.Event) bool {
			return re.Match(e.Payload) || re.MatchString(e.ChatLine)
		}})
	}
	since, until := mid.Time, msgs[len(msgs)*3/4].Time
	if until.After(since) {
		cases = append(cases, filterCase{"since until", filter.Options{Since: since.Format(time.RFC3339Nano), Until: until.Format(time.RFC3339Nano)}, func(e *decode.Event) bool {
			return !e.Time.Before(since) && e.Time.Before(until)
		}})
	}
	return cases
}
