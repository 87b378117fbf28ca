package bots

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTick = 100

// procSample is a process's CPU time and memory at one moment.
type procSample struct {
	at  time.Time
	cpu time.Duration // user + system
	rss int64         // bytes
	ok  bool
}

// sampleProc reads /proc/PID/stat and /proc/PID/status; pid 0 is this process.
func sampleProc(pid int) procSample {
	name := "self"
	if pid > 0 {
		name = strconv.Itoa(pid)
	}
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile("/proc/" + name + "/stat")
	if err != nil {
		return s
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields from after its closing parenthesis.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return s
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return s
	}
	s.cpu = time.Duration(ut+st) * time.Second / clockTick
	status, err := os.ReadFile("/proc/" + name + "/status")
	if err != nil {
		return s
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			var kb int64
			if _, err := fmt.Sscan(string(rest), &kb); err == nil {
				s.rss = kb << 10
			}
		}
	}
	s.ok = true
	return s
}

// cpuPercent is the CPU used between two samples, in percent of one core.
func cpuPercent(a, b procSample) float64 {
	if !a.ok || !b.ok || !b.at.After(a.at) {
		return -1
	}
	return 100 * float64(b.cpu-a.cpu) / float64(b.at.Sub(a.at))
}
