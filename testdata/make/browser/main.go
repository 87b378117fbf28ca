// Command browser drives headless Chromium through a chat on the bundled
// server's page, for the real captures in testdata/ (see browser.sh): two
// tabs log in, one says three things (one far over a TLS record's 16 KiB),
// the other answers, then both tabs close. Chromium writes its TLS
// secrets where SSLKEYLOGFILE says.
//
// With -mode socketio it chats on the socket.io tutorial's page instead
// (see socketio.sh and socketio.js): one tab waits until its socket has
// upgraded to WebSocket, types three chat messages, waits for a node
// client's answer, and closes.
//
// usage: go run ./testdata/make/browser [-mode workerman|socketio] PAGE-URL
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	mode := flag.String("mode", "workerman", "the page's chat: workerman (the bundled server's) or socketio (the socket.io tutorial's)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: browser [-mode workerman|socketio] PAGE-URL")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var chat func(context.Context, string) error
	switch *mode {
	case "workerman":
		chat = workerman
	case "socketio":
		chat = socketio
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), chat); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		os.Exit(1)
	}
}

func run(page string, chat func(context.Context, string) error) error {
	path, err := exec.LookPath("chromium")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "chromium-profile")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The bundled server's certificate is self-signed.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.Env("SSLKEYLOGFILE="+os.Getenv("SSLKEYLOGFILE")),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	return chat(browser, page)
}

// workerman is the chat on the bundled server's page.
func workerman(browser context.Context, page string) error {
	login := func(tab context.Context, nick string) error {
		return chromedp.Do(tab,
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.ID("nick")),
			chromedp.SendKeys(chromedp.ID("nick"), nick),
			chromedp.Click(chromedp.ID("login-btn")),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('#users').textContent.includes(%q)`, nick), chromedp.WithPollingTimeout(20*time.Second)),
		)
	}
	say := func(tab context.Context, text string) error {
		return chromedp.Do(tab,
			chromedp.SetValue(chromedp.ID("msg"), text),
			chromedp.Click(chromedp.ID("send-btn")),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.body.textContent.includes(%q)`, text[:min(len(text), 40)]), chromedp.WithPollingTimeout(10*time.Second)),
		)
	}

	alice, closeAlice := chromedp.NewContext(browser)
	defer closeAlice()
	if err := login(alice, "alice"); err != nil {
		return fmt.Errorf("alice: %w", err)
	}
	bob, closeBob := chromedp.NewContext(browser)
	defer closeBob()
	if err := login(bob, "bob"); err != nil {
		return fmt.Errorf("bob: %w", err)
	}
	for _, s := range []string{
		"bonjour over wss:// 🔒",
		"你好, bob & <b>markup</b>",
		strings.Repeat("a long line from chromium over TLS 1.3, ", 600),
	} {
		if err := say(alice, s); err != nil {
			return fmt.Errorf("alice says: %w", err)
		}
	}
	if err := say(bob, "hi alice, got it all"); err != nil {
		return fmt.Errorf("bob says: %w", err)
	}
	time.Sleep(200 * time.Millisecond)
	closeBob() // the tab goes: Chromium closes its WebSocket with 1001
	time.Sleep(300 * time.Millisecond)
	closeAlice()
	time.Sleep(300 * time.Millisecond)
	return nil
}

// The socket.io page's messages: socketio.js waits for the same ones, and
// answers the last with nodeSays.
var (
	socketioSays = []string{"hello from chromium", "ça va? 你好 🙂", "third & last <message>"}
	nodeSays     = "hello chromium, from node"
)

// socketio is the socket.io tutorial's chat: a form that emits "chat
// message" and a list of the "chat message"s received.
func socketio(browser context.Context, page string) error {
	tab, closeTab := chromedp.NewContext(browser)
	defer closeTab()
	listed := func(text string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf(`[...document.querySelectorAll('#messages > li')].some((li) => li.textContent === %q)`, text), chromedp.WithPollingTimeout(20*time.Second))
	}
	if err := chromedp.Do(tab,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("input")),
		// Type only once the client has upgraded from polling, so that the
		// messages go over the WebSocket on every run.
		chromedp.Poll[chromedp.Void](`window.socket && socket.connected && socket.io.engine.transport.name === 'websocket'`, chromedp.WithPollingTimeout(20*time.Second)),
	); err != nil {
		return fmt.Errorf("socket.io page: %w", err)
	}
	for _, text := range socketioSays {
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.ID("input"), text),
			chromedp.Click(chromedp.CSS(`#form > button`)),
			listed(text),
		); err != nil {
			return fmt.Errorf("type %q: %w", text, err)
		}
	}
	if err := chromedp.Do(tab, listed(nodeSays)); err != nil {
		return fmt.Errorf("wait for node's answer: %w", err)
	}
	time.Sleep(200 * time.Millisecond)
	closeTab()
	time.Sleep(300 * time.Millisecond)
	return nil
}
