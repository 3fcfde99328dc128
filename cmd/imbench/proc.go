package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, which
// Linux fixes at 100 for user space on every architecture it supports.
const userHZ = 100

// parseVmRSS returns the VmRSS line of a /proc/PID/status file, in bytes.
func parseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS line (is the process a zombie?)")
}

// readRSS returns the resident set size of process pid, in bytes.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// parseStatCPU returns utime + stime (in USER_HZ ticks) from the content of
// a /proc/PID/stat file.
func parseStatCPU(stat []byte) (uint64, error) { return sumStatFields(stat, 14, 15) }

// sumStatFields returns the sum of the given (1-based, as in proc(5))
// numeric fields of a /proc/PID/stat file; negative values count as 0. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func sumStatFields(stat []byte, fields ...int) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')' after the command name")
	}
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3 (state)
	var sum uint64
	for _, n := range fields {
		if n-3 >= len(f) {
			return 0, fmt.Errorf("stat: %d fields after the command name, want at least %d", len(f), n-2)
		}
		v, err := strconv.ParseInt(f[n-3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: %w", err)
		}
		sum += uint64(max(v, 0))
	}
	return sum, nil
}

// readCPUTicks returns the CPU time process pid has used, in USER_HZ ticks.
func readCPUTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	MemTotalMB int64  `json:"mem_total_mb"`
	Kernel     string `json:"kernel"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

// parseCPUModel returns the first "model name" of /proc/cpuinfo.
func parseCPUModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseMemTotal returns MemTotal of /proc/meminfo in bytes.
func parseMemTotal(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func machineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = parseCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotalMB = parseMemTotal(b) >> 20
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// parseStatCPUAll returns the process's own CPU time and that of its
// waited-for children (utime + stime + cutime + cstime), in USER_HZ ticks,
// from a /proc/PID/stat file.
func parseStatCPUAll(stat []byte) (uint64, error) { return sumStatFields(stat, 14, 15, 16, 17) }

// parseProcStat returns the busy time of all CPUs (user, nice, system, irq,
// softirq) from /proc/stat, in USER_HZ ticks.
func parseProcStat(b []byte) (uint64, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0, errors.New("/proc/stat: no cpu line first")
	}
	var busy uint64
	for _, k := range []int{1, 2, 3, 6, 7} {
		v, err := strconv.ParseUint(f[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += v
	}
	return busy, nil
}

// cpuSnapshot is what the machine and this process tree had used at a time.
type cpuSnapshot struct {
	at            time.Time
	machine, tree uint64
}

func takeCPUSnapshot() (cpuSnapshot, error) {
	s := cpuSnapshot{at: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	if s.machine, err = parseProcStat(b); err != nil {
		return s, err
	}
	if b, err = os.ReadFile("/proc/self/stat"); err != nil {
		return s, err
	}
	s.tree, err = parseStatCPUAll(b)
	return s, err
}

// otherCPU is the CPU (percent of one core) that processes outside this
// process tree used between two snapshots taken when no child of ours was
// running: the machine's busy time less ours and our children's.
func otherCPU(a, b cpuSnapshot) float64 {
	el := b.at.Sub(a.at).Seconds()
	if el <= 0 || b.machine < a.machine {
		return 0
	}
	other := float64(b.machine-a.machine) - float64(b.tree-a.tree)
	return max(other, 0) / userHZ / el * 100
}
