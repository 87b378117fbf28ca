package chatserver

import (
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/internal/browsertest"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"
)

// TestBrowser drives the page in headless Chromium: log in as mynick, say
// "hi, all !", and a second (Go) client receives the broadcast. It checks
// on the server that the browser negotiated permessage-deflate, and that
// markup from another user is shown as text. The last case is over TLS:
// the page on https:// connects with wss:// (the browser told to take the
// self-signed certificate).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	browser := browsertest.New(t, 90*time.Second)

	for _, tc := range []struct {
		name          string
		proto         chat.Protocol
		observerLogin string
		browserLogin  string // what the observer sees when the browser logs in
		browserSays   string
		observerSays  string
	}{
		{"uid", chat.ProtocolUID, `{"type":"login","name":"observer"}`,
			`{"type":"login","uid":2,"name":"mynick","time":"T"}`,
			`{"type":"say","from_uid":2,"to_uid":"all","content":"hi, all !","time":"T"}`,
			`{"type":"say","to_uid":"all","content":"<img src=x onerror=alert(1)> & bye"}`},
		{"room", chat.ProtocolRoom, `{"type":"login","client_name":"observer","room_id":1}`,
			`{"type":"login","client_id":"*","client_name":"mynick","time":"T"}`,
			`{"type":"say","from_client_id":"*","from_client_name":"mynick","to_client_id":"all","content":"hi, all !","time":"T"}`,
			`{"type":"say","to_client_id":"all","to_client_name":"all","content":"<img src=x onerror=alert(1)> & bye"}`},
		{"room over tls", chat.ProtocolRoom, `{"type":"login","client_name":"observer","room_id":1}`,
			`{"type":"login","client_id":"*","client_name":"mynick","time":"T"}`,
			`{"type":"say","from_client_id":"*","from_client_name":"mynick","to_client_id":"all","content":"hi, all !","time":"T"}`,
			`{"type":"say","to_client_id":"all","to_client_name":"all","content":"<img src=x onerror=alert(1)> & bye"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Protocol: tc.proto, PingInterval: 500 * time.Millisecond}
			if strings.HasSuffix(tc.name, "tls") {
				cfg, _, err := SelfSignedTLS(nil)
				if err != nil {
					t.Fatal(err)
				}
				opts.TLS = cfg
			}
			ts := startServer(t, opts)
			observer := dial(t, ts, "observer")
			observer.send(tc.observerLogin)
			observer.next() // its own login reply or user list
			if tc.proto == chat.ProtocolUID {
				observer.next()
			}
			tab, cancelTab := chromedp.NewContext(browser)
			defer cancelTab()
			if opts.TLS != nil {
				if _, err := chromedp.Call(tab, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
					t.Fatalf("browser: %v", err)
				}
			}
			err := chromedp.Do(tab,
				chromedp.Navigate(ts.pageURL),
				chromedp.WaitVisible(chromedp.ID("nick")),
				chromedp.SendKeys(chromedp.ID("nick"), "mynick"),
				chromedp.Click(chromedp.ID("login-btn")),
				chromedp.Poll[chromedp.Void](`document.querySelector('#users').textContent.includes('mynick')`, chromedp.WithPollingTimeout(20*time.Second)),
				chromedp.SendKeys(chromedp.ID("msg"), "hi, all !"),
				chromedp.Click(chromedp.ID("send-btn")),
				chromedp.Poll[chromedp.Void](`document.querySelector('#messages').textContent.includes('hi, all !')`, chromedp.WithPollingTimeout(20*time.Second)),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			expectIgnoringPings(t, observer, tc.browserLogin)
			expectIgnoringPings(t, observer, tc.browserSays)

			// Markup from another user must be shown as text, not run.
			observer.send(tc.observerSays)
			if err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](`document.querySelector('#messages').textContent.includes('& bye')`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
				t.Fatalf("browser: %v", err)
			}
			imgs, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#messages img').length`))
			if err != nil {
				t.Fatal(err)
			}
			users, err := chromedp.Run(tab, chromedp.TextContent(chromedp.ID("users")))
			if err != nil {
				t.Fatal(err)
			}
			messages, err := chromedp.Run(tab, chromedp.TextContent(chromedp.ID("messages")))
			if err != nil {
				t.Fatal(err)
			}
			if imgs != 0 || !strings.Contains(messages, "<img src=x onerror=alert(1)> & bye") {
				t.Errorf("markup not shown as text: %d <img> elements, messages %q", imgs, messages)
			}
			if !strings.Contains(users, "observer") || !strings.Contains(users, "mynick") {
				t.Errorf("user list %q lacks observer or mynick", users)
			}
			if n := ts.Stats().Deflate; n != 1 {
				t.Errorf("%d connections negotiated permessage-deflate, want 1 (the browser's)", n)
			}
		})
	}
}

// expectIgnoringPings is expect for a client that skips pings; a "*"
// in want stands for a client_id.
func expectIgnoringPings(t *testing.T, w *wsClient, want string) {
	t.Helper()
	for {
		got := maskTime(w.next())
		if got == `{"type":"ping"}` {
			continue
		}
		got = clientIDRe.ReplaceAllString(got, `"client_id":"*"`)
		got = fromClientIDRe.ReplaceAllString(got, `"from_client_id":"*"`)
		if got != want {
			t.Fatalf("%s got\n  %s\nwant\n  %s", w.name, got, want)
		}
		return
	}
}
