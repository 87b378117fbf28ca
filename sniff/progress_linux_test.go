package sniff

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatsniff/chatsniff/capture"
)

// openPty opens a pseudo-terminal of 120 columns: what stderr is in a
// terminal window. It is the kernel's own (/dev/ptmx), so the test needs
// no pty package.
func openPty(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open the pty's terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

func TestProgressTerminal(t *testing.T) {
	master, tty := openPty(t)
	t.Setenv("TERM", "xterm")
	src, err := capture.OpenFile(progressFile(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	if NewProgress(tty, src, true) != nil {
		t.Errorf("--quiet on a terminal: a bar")
	}
	t.Setenv("TERM", "dumb")
	if NewProgress(tty, src, false) != nil {
		t.Errorf("TERM=dumb: a bar")
	}
	t.Setenv("TERM", "xterm")
	p := NewProgress(tty, src, false)
	if p == nil {
		t.Fatal("a file with stderr on a terminal: no bar")
	}

	var out lockedBuffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	p.Start()
	p.Packet()
	p.Message()
	wait := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok(out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s on the terminal after 10 s: %q", what, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("bar", func(s string) bool { return strings.Contains(s, "100%") && strings.Contains(s, "1 message") })
	p.Stop()
	wait("line cleared", func(s string) bool { return strings.HasSuffix(s, clearLine) })
	t.Logf("%q", out.String())
}
