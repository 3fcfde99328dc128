package main

import (
	"os"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	status := "Name:\timstatusd\nVmPeak:\t 1000 kB\nVmRSS:\t   20480 kB\nThreads:\t7\n"
	got, err := parseVmRSS([]byte(status))
	if err != nil || got != 20480*1024 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 20480*1024)
	}
	if _, err := parseVmRSS([]byte("Name:\tzombie\nState:\tZ\n")); err == nil {
		t.Error("no VmRSS line: no error")
	}
	if _, err := parseVmRSS([]byte("VmRSS:\t12 MB\n")); err == nil {
		t.Error("unexpected unit: no error")
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (im (bench) d) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 7 0 100 0 0\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 1234+567 {
		t.Errorf("parseStatCPU = %d, %v; want %d", got, err, 1234+567)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1 2")); err == nil {
		t.Error("short stat: no error")
	}
}

func TestReadSelf(t *testing.T) {
	pid := os.Getpid()
	if rss, err := readRSS(pid); err != nil || rss <= 0 {
		t.Errorf("readRSS(self) = %d, %v", rss, err)
	}
	if _, err := readCPUTicks(pid); err != nil {
		t.Errorf("readCPUTicks(self): %v", err)
	}
}

func TestMachineFiles(t *testing.T) {
	cpu := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) @ 2.80GHz\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) @ 2.80GHz\n"
	if got := parseCPUModel([]byte(cpu)); got != "Intel(R) Xeon(R) @ 2.80GHz" {
		t.Errorf("parseCPUModel = %q", got)
	}
	if got := parseMemTotal([]byte("MemTotal:       24576000 kB\nMemFree: 1 kB\n")); got != 24576000*1024 {
		t.Errorf("parseMemTotal = %d", got)
	}
}

func TestCPUPeak(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(time.Second), t0.Add(1500 * time.Millisecond), t0.Add(2 * time.Second)}
	// 10 ticks (0.1 s of CPU) per 0.5 s, except 75 ticks in the third half second.
	ticks := []uint64{0, 10, 20, 95, 105}
	peak, mean, err := cpuPeak(at, ticks, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if peak != 150 {
		t.Errorf("peak = %v%%, want 150%%", peak)
	}
	if mean != 52.5 {
		t.Errorf("mean = %v%%, want 52.5%%", mean)
	}
	if _, _, err := cpuPeak(at[:1], ticks[:1], time.Second); err == nil {
		t.Error("one sample: no error")
	}
}

func TestParseStatCPUAll(t *testing.T) {
	stat := "4242 (imbench) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 89 10 20 0 7 0 100 0 0\n"
	if got, err := parseStatCPUAll([]byte(stat)); err != nil || got != 1234+567+89+10 {
		t.Errorf("parseStatCPUAll = %d, %v; want %d", got, err, 1234+567+89+10)
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  100 5 50 1000 7 3 2 9 0 0\ncpu0 50 2 25 500 3 1 1 4 0 0\n"
	if got, err := parseProcStat([]byte(stat)); err != nil || got != 100+5+50+3+2 {
		t.Errorf("parseProcStat = %d, %v; want %d", got, err, 160)
	}
	if _, err := parseProcStat([]byte("intr 1 2 3\n")); err == nil {
		t.Error("no cpu line: no error")
	}
}

func TestOtherCPU(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := cpuSnapshot{at: t0, machine: 1000, tree: 400}
	b := cpuSnapshot{at: t0.Add(2 * time.Second), machine: 1300, tree: 600} // 300 busy, 200 ours
	if got := otherCPU(a, b); got != 50 {
		t.Errorf("otherCPU = %v%%, want 50%%", got)
	}
	b.tree = 800 // more than the machine: clock skew between the files
	if got := otherCPU(a, b); got != 0 {
		t.Errorf("otherCPU = %v%%, want 0", got)
	}
}
