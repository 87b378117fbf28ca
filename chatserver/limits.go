package chatserver

import (
	"log/slog"
	"syscall"
)

// wantOpenFiles is the open-file limit the server asks for, and
// needOpenFiles the least it is quiet about: issue 7's 10,000 clients,
// with room for listeners and the page's connections.
const (
	wantOpenFiles = 65536
	needOpenFiles = 10240
)

// raiseOpenFiles lifts RLIMIT_NOFILE towards wantOpenFiles: the soft limit
// up to the hard one (any process may), the hard one too where the process
// is allowed (root). It logs what it got and, when that is short of
// wantOpenFiles, how many connections it bounds and how to raise it.
func raiseOpenFiles(log *slog.Logger) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the open-file limit", slog.Any("err", err))
		return 0
	}
	if lim.Cur >= wantOpenFiles {
		return lim.Cur
	}
	want := lim
	want.Cur = wantOpenFiles
	if want.Max < wantOpenFiles {
		want.Max = wantOpenFiles
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Not allowed to raise the hard limit: take what the hard limit gives.
		want = lim
		want.Cur = lim.Max
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err2 != nil {
			log.Warn("cannot raise the open-file limit", slog.Any("err", err2))
		}
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < needOpenFiles {
		log.Warn("open-file limit below what 10,000 clients need",
			slog.Uint64("limit", lim.Cur),
			slog.Uint64("max_clients", lim.Cur-min(lim.Cur, 32)),
			slog.String("fix", "raise it with `ulimit -Hn 65536; ulimit -n 65536` (as root), or LimitNOFILE= in a systemd unit"))
	} else {
		log.Info("open-file limit", slog.Uint64("limit", lim.Cur), slog.Uint64("max_clients", lim.Cur-32))
	}
	return lim.Cur
}
