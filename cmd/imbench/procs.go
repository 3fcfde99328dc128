package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// child is a server process imbench started: imstatusd or a baseline. It
// prints "listening on ADDR" (and, with --pprof, "pprof on ADDR") on stdout
// when ready.
type child struct {
	name  string
	cmd   *exec.Cmd
	addr  string
	pprof string

	slowReaders atomic.Int64 // "slow reader" lines in its log

	mu   sync.Mutex
	tail []string // the last lines of its stderr
	done chan struct{}
	err  error
}

func startChild(ctx context.Context, name, path string, args ...string) (*child, error) {
	return startChildWith(ctx, name, path, false, args...)
}

// startChildWith starts the program and waits for its "listening on" line
// and, with wantPprof, its "pprof on" line too.
func startChildWith(ctx context.Context, name, path string, wantPprof bool, args ...string) (*child, error) {
	c := &child{name: name, done: make(chan struct{})}
	c.cmd = exec.Command(path, args...)
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go c.scanLog(stderr)
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var signalled bool
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "pprof on "); ok && c.pprof == "" {
				c.pprof = a
			}
			if a, ok := strings.CutPrefix(line, "listening on "); ok && c.addr == "" {
				c.addr = a
			}
			if !signalled && c.addr != "" && (!wantPprof || c.pprof != "") {
				signalled = true
				ready <- nil
			}
		}
		io.Copy(io.Discard, stdout)
		if !signalled {
			ready <- fmt.Errorf("%s exited before listening", name)
		}
	}()
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	select {
	case err = <-ready:
	case <-time.After(20 * time.Second):
		err = fmt.Errorf("%s did not start listening in 20 s", name)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.kill()
		return nil, fmt.Errorf("%w\n%s", err, c.logTail())
	}
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) scanLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "slow reader") {
			c.slowReaders.Add(1)
		}
		c.mu.Lock()
		c.tail = append(c.tail, line)
		if len(c.tail) > 40 {
			c.tail = c.tail[len(c.tail)-20:]
		}
		c.mu.Unlock()
	}
}

func (c *child) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// alive reports whether the process is still running.
func (c *child) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// stop asks the process to exit (SIGTERM), then kills it after a grace period.
func (c *child) stop() {
	if !c.alive() {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.kill()
	}
}

func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// target is the server (or servers) a scenario loads: client i connects to
// addrs[i % len(addrs)]. procs are the processes behind them when imbench
// started them, measured for RSS and CPU; empty for external servers.
type target struct {
	name    string
	addrs   []string
	procs   []*child
	dataDir string     // the server's --data directory, removed when it stops
	redis   *redisProc // the Redis the nodes share (--cluster), stopped after them
}

func (t *target) addr(i int) string { return t.addrs[i%len(t.addrs)] }

// measurable reports whether RSS and CPU can be read.
func (t *target) measurable() bool { return len(t.procs) > 0 }

// rss is the summed resident set size of the target's processes.
func (t *target) rss() (int64, error) {
	var sum int64
	for _, p := range t.procs {
		v, err := readRSS(p.pid())
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// cpuTicks is the summed CPU time of the target's processes.
func (t *target) cpuTicks() (uint64, error) {
	var sum uint64
	for _, p := range t.procs {
		v, err := readCPUTicks(p.pid())
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// check fails when a process of the target has exited (crashed).
func (t *target) check() error {
	for _, p := range t.procs {
		if !p.alive() {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.logTail())
		}
	}
	return nil
}

func (t *target) slowReaders() int64 {
	var n int64
	for _, p := range t.procs {
		n += p.slowReaders.Load()
	}
	return n
}

func (t *target) stop() {
	for _, p := range t.procs {
		p.stop()
	}
	if t.redis != nil {
		t.redis.stop()
	}
	if t.dataDir != "" {
		os.RemoveAll(t.dataDir)
	}
}

// settleRSS samples the RSS every 250 ms until it has moved less than 0.5%
// (or 256 KiB) over the last 2 s, or until limit; it returns the last sample.
func (t *target) settleRSS(ctx context.Context, limit time.Duration) (int64, error) {
	const window = 8
	var hist []int64
	deadline := time.Now().Add(limit)
	for {
		v, err := t.rss()
		if err != nil {
			return 0, err
		}
		hist = append(hist, v)
		if len(hist) >= window {
			w := hist[len(hist)-window:]
			lo, hi := w[0], w[0]
			for _, x := range w {
				lo, hi = min(lo, x), max(hi, x)
			}
			if hi-lo <= max(hi/200, 256<<10) {
				return v, nil
			}
		}
		if time.Now().After(deadline) {
			return v, nil
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// cpuSampler records the target's CPU use every interval until stopped.
type cpuSampler struct {
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	// samples are (time, cumulative ticks).
	at    []time.Time
	ticks []uint64
}

func (t *target) sampleCPU(interval time.Duration) *cpuSampler {
	return sampleCPU(t.cpuTicks, interval)
}

// sampleSelfCPU samples this process (the load generator).
func sampleSelfCPU(interval time.Duration) *cpuSampler {
	pid := os.Getpid()
	return sampleCPU(func() (uint64, error) { return readCPUTicks(pid) }, interval)
}

func sampleCPU(ticks func() (uint64, error), interval time.Duration) *cpuSampler {
	s := &cpuSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	take := func() {
		v, err := ticks()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.at = append(s.at, time.Now())
		s.ticks = append(s.ticks, v)
		s.mu.Unlock()
	}
	go func() {
		defer close(s.done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		take()
		for {
			select {
			case <-tk.C:
				take()
			case <-s.stopc:
				take()
				return
			}
		}
	}()
	return s
}

// stop ends sampling and returns the peak CPU use over any span of at
// least minSpan, and the mean over the whole time, both in percent of one
// core.
func (s *cpuSampler) stop(minSpan time.Duration) (peak, mean float64, err error) {
	close(s.stopc)
	<-s.done
	return cpuPeak(s.at, s.ticks, minSpan)
}

// cpuPeak computes, from cumulative tick samples, the highest CPU use over
// spans of at least minSpan and the mean over all of it, in percent of one core.
func cpuPeak(at []time.Time, ticks []uint64, minSpan time.Duration) (peak, mean float64, err error) {
	if len(at) < 2 {
		return 0, 0, errors.New("fewer than two CPU samples")
	}
	pct := func(i, j int) float64 {
		return float64(ticks[j]-ticks[i]) / userHZ / at[j].Sub(at[i]).Seconds() * 100
	}
	j := 0
	for i := range at {
		for j < len(at) && at[j].Sub(at[i]) < minSpan {
			j++
		}
		if j == len(at) {
			break
		}
		peak = max(peak, pct(i, j))
	}
	mean = pct(0, len(at)-1)
	if peak == 0 {
		peak = mean
	}
	return peak, mean, nil
}
