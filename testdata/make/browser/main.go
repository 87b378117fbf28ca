// Command browser drives headless Chromium through a chat on the bundled
// server's page, for the real captures in testdata/ (see browser.sh): two
// tabs log in, one says three things (one far over a TLS record's 16 KiB),
// the other answers, then both tabs close. Chromium writes its TLS
// secrets where SSLKEYLOGFILE says.
//
// usage: go run ./testdata/make/browser PAGE-URL
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: browser PAGE-URL")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		os.Exit(1)
	}
}

func run(page string) error {
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
