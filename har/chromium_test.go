package har_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/chromedp"

	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/internal/browsertest"
)

// chromeImport is what DevTools' own HAR importer (models/har/har.js,
// the code behind the Network panel's "Import HAR file") made of an entry.
type chromeImport struct {
	URL, ResourceType, Method, Remote string
	ConnectionID                      string
	Status, Headers, Frames           int
	FrameTypes                        []string
	FirstText                         string
}

// importJS imports the HAR given as JSON in `har` with DevTools' importer,
// in the DevTools page itself, where its modules are served from the
// browser.
const importJS = `(async () => {
	const HAR = await import('devtools://devtools/bundled/models/har/har.js');
	const root = new HAR.HARFormat.HARRoot(JSON.parse(har));
	const reqs = HAR.Importer.Importer.requestsFromHARLog(root.log);
	return reqs.map(r => ({
		URL: r.url(), ConnectionID: r.connectionId, ResourceType: r.resourceType().name(), Method: r.requestMethod,
		Remote: r.remoteAddress(), Status: r.statusCode, Headers: r.requestHeaders().length,
		Frames: r.frames().length, FrameTypes: r.frames().map(f => f.type),
		FirstText: r.frames().length ? r.frames()[0].text : ''}));
})()`

// TestChromiumImport loads the HAR of every real capture with Chromium's
// DevTools HAR importer: every entry must come back as a WebSocket request
// with its URL, status, headers and frames, in the order they were sent.
func TestChromiumImport(t *testing.T) {
	ctx := browsertest.New(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate("devtools://devtools/bundled/devtools_app.html")); err != nil {
		t.Fatal(err)
	}
	for _, path := range captures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, o := runHAR(t, path)
			arg, _ := json.Marshal(string(out))
			got, err := chromedp.Run(ctx, chromedp.Evaluate[[]chromeImport]("var har = "+string(arg)+"; "+importJS, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(o.order) {
				t.Fatalf("Chromium imported %d requests, want %d", len(got), len(o.order))
			}
			// The importer sorts by startedDateTime, to the millisecond:
			// requests are matched by connection (client port), in order.
			byPort := map[string][]chromeImport{}
			for _, g := range got {
				byPort[g.ConnectionID] = append(byPort[g.ConnectionID], g)
			}
			for _, c := range o.order {
				id := c.id
				if len(byPort[c.client]) == 0 {
					t.Fatalf("connection %d: not imported", id)
				}
				g := byPort[c.client][0]
				byPort[c.client] = byPort[c.client][1:]
				if g.ResourceType != "websocket" || g.Method != "GET" || !strings.HasPrefix(g.URL, "ws") {
					t.Errorf("connection %d: imported as %+v", id, g)
				}
				if hs := c.handshake; hs != nil && (g.Status != hs.Status || g.Headers != len(hs.Request)) {
					t.Errorf("connection %d: status %d, %d headers; want %d, %d", id, g.Status, g.Headers, hs.Status, len(hs.Request))
				}
				if g.Frames != len(c.msgs) {
					t.Fatalf("connection %d: %d frames, want %d", id, g.Frames, len(c.msgs))
				}
				for j, m := range c.msgs {
					if want := map[bool]string{true: "send", false: "receive"}[m.fromClient]; g.FrameTypes[j] != want {
						t.Errorf("connection %d frame %d: %s, want %s", id, j, g.FrameTypes[j], want)
					}
				}
				if len(c.msgs) > 0 && c.msgs[0].op == decode.OpText && utf8.Valid(c.msgs[0].payload) && g.FirstText != string(c.msgs[0].payload) {
					t.Errorf("connection %d: first frame %q, want %q", id, g.FirstText, c.msgs[0].payload)
				}
			}
		})
	}
}
