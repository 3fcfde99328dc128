package sdk

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The levels of enum TIMLogLevel.
const (
	LogOff     = 0
	LogTest    = 1
	LogVerbose = 2
	LogDebug   = 3
	LogInfo    = 4
	LogWarn    = 5
	LogError   = 6
	LogAssert  = 7
)

func levelToSlog(l int) slog.Level {
	switch {
	case l <= LogDebug:
		return slog.LevelDebug
	case l == LogInfo:
		return slog.LevelInfo
	case l == LogWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func levelFromSlog(l slog.Level) int {
	switch {
	case l < slog.LevelInfo:
		return LogDebug
	case l < slog.LevelWarn:
		return LogInfo
	case l < slog.LevelError:
		return LogWarn
	}
	return LogError
}

// logSink is where the SDK's logs go: a file under the configured
// directory (imsdk_YYYYMMDD.log), and the registered log callback.
type logSink struct {
	logger *slog.Logger

	mu   sync.Mutex
	file *os.File
}

func newLogSink(dir string, s *SDK) (*logSink, error) {
	ls := &logSink{}
	var err error
	if dir != "" {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			name := filepath.Join(dir, "imsdk_"+time.Now().Format("20060102")+".log")
			ls.file, err = os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		}
	}
	ls.logger = slog.New(&logHandler{sink: ls, sdk: s, level: slog.LevelDebug})
	return ls, err
}

func (ls *logSink) write(line []byte) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.file != nil {
		ls.file.Write(line)
	}
}

func (ls *logSink) close() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.file != nil {
		ls.file.Close()
		ls.file = nil
	}
}

// logHandler formats records as text lines for the file and the callback.
type logHandler struct {
	sink  *logSink
	sdk   *SDK
	level slog.Level
	attrs []slog.Attr
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var buf bytes.Buffer
	th := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: h.level})
	var hh slog.Handler = th
	if len(h.attrs) > 0 {
		hh = th.WithAttrs(h.attrs)
	}
	if err := hh.Handle(context.Background(), r); err != nil {
		return err
	}
	line, level := buf.Bytes(), levelFromSlog(r.Level)
	if passes(h.sdk.settings.fileLevel.Load(), level) {
		h.sink.write(line)
	}
	if cb := h.sdk.handler().Log; cb != nil && passes(h.sdk.settings.callbackLevel.Load(), level) {
		text := string(bytes.TrimRight(line, "\n"))
		h.sdk.Dispatcher.Post(func() { cb(level, text) })
	}
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
