package decode

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// fillEvent sets every field of e to something other than its zero value:
// what an earlier event of any kind, or a sink that changed it, may have
// left in the shared Event. A field of a type it does not know fails the
// test, so that a field added to Event is covered when it is added.
func fillEvent(t *testing.T, e *Event) {
	t.Helper()
	v := reflect.ValueOf(e).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Interface().(type) {
		case time.Time:
			f.Set(reflect.ValueOf(time.Unix(1, 2)))
		case netip.AddrPort:
			f.Set(reflect.ValueOf(netip.MustParseAddrPort("[::9]:9")))
		case *tlsdecrypt.Info:
			f.Set(reflect.ValueOf(&tlsdecrypt.Info{SNI: "stale"}))
		default:
			switch f.Kind() {
			case reflect.String:
				f.SetString("stale")
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Int, reflect.Int64:
				f.SetInt(99)
			case reflect.Uint8, reflect.Uint32, reflect.Uint64:
				f.SetUint(99)
			case reflect.Slice:
				f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			case reflect.Interface:
				f.Set(reflect.ValueOf("stale"))
			case reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem())) // a stale Handshake, say
			case reflect.Struct: // Talk: strings all through
				for j := range f.NumField() {
					if g := f.Field(j); g.Kind() == reflect.String {
						g.SetString("stale")
					}
				}
			default:
				t.Fatalf("fillEvent: field %s of type %s: set it here", name, f.Type())
			}
		}
		if f.IsZero() {
			t.Fatalf("fillEvent: field %s is still zero", name)
		}
	}
}

// TestMessageEventLikeNewEvent: messageEvent, newEvent for message events
// without its copy, must give the same Event whatever the shared one held
// before, for either direction, midstream or not.
func TestMessageEventLikeNewEvent(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.c.(*conn)
	tm := testT0.Add(1500 * time.Millisecond)
	for _, midstream := range []bool{false, true} {
		c.midstream = midstream
		for side := range c.dirs {
			w := &c.dirs[side]
			w.c, w.fromClient = c, side == 0
			fillEvent(t, &c.d.ev)
			got := *w.messageEvent(tm)
			fillEvent(t, &c.d.ev)
			want := *c.newEvent(KindMessage, w.fromClient, tm)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("midstream %t, side %d:\n got %+v\nwant %+v", midstream, side, got, want)
			}
		}
	}
}

// BenchmarkMessageEvent sets up the shared Event for a message, as
// messageEvent does and as newEvent does (the latter's copy included).
func BenchmarkMessageEvent(b *testing.B) {
	h := newHarness(b, Config{})
	c := h.c.(*conn)
	w := &c.dirs[0]
	w.c, w.fromClient = c, true
	b.Run("messageEvent", func(b *testing.B) {
		for b.Loop() {
			w.messageEvent(testT0).Length++
		}
	})
	b.Run("newEvent", func(b *testing.B) {
		for b.Loop() {
			c.newEvent(KindMessage, w.fromClient, testT0).Length++
		}
	})
}
