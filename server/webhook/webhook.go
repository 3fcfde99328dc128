// Package webhook delivers a presence server's "state change" callbacks to an
// app's backend, in the format of Tencent Cloud IM's State.StateChange
// callback.
//
// Delivery is asynchronous: [Sender.Send] only enqueues the event and never
// performs I/O, so a slow or dead webhook endpoint can never slow presence
// handling down. When the queue is full, events are dropped and counted.
//
// Each event is POSTed exactly once. There are no retries: Tencent Cloud IM
// does not retry State.StateChange callbacks either, and a retried presence
// event would arrive out of order anyway.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// CallbackCommand is the value of the CallbackCommand query parameter and
// body field of every callback sent by this package.
const CallbackCommand = "State.StateChange"

// Values of Event.Action.
const (
	// ActionLogin reports that the account came online.
	ActionLogin = "Login"
	// ActionLogout reports that the account logged out.
	ActionLogout = "Logout"
	// ActionDisconnect reports that the account's connection was lost.
	ActionDisconnect = "Disconnect"
)

// Values of Event.Reason.
const (
	// ReasonRegister accompanies ActionLogin: the client logged in.
	ReasonRegister = "Register"
	// ReasonUnregister accompanies ActionLogout: the client logged out.
	ReasonUnregister = "Unregister"
	// ReasonLinkClose accompanies ActionDisconnect: the connection was closed.
	ReasonLinkClose = "LinkClose"
	// ReasonTimeOut accompanies ActionDisconnect: the client stopped sending
	// heartbeats.
	ReasonTimeOut = "TimeOut"
)

// Defaults applied by New to zero fields of Options.
const (
	// DefaultTimeout is the default per-request timeout.
	DefaultTimeout = 2 * time.Second
	// DefaultQueueSize is the default number of events held while the
	// endpoint is slow.
	DefaultQueueSize = 10000
	// DefaultWorkers is the default number of concurrent requests.
	DefaultWorkers = 4
)

const (
	// maxAnswerBytes bounds how much of the endpoint's answer is read.
	maxAnswerBytes = 64 << 10
	// dropLogInterval rate-limits the warning logged for dropped events.
	dropLogInterval = time.Second
)

// Event is one state change of one account.
type Event struct {
	// SDKAppID is the app's SdkAppid query parameter.
	SDKAppID uint64
	// Action is one of ActionLogin, ActionLogout, ActionDisconnect.
	Action string
	// Account is the account whose state changed (Info.To_Account).
	Account string
	// Reason is one of ReasonRegister, ReasonUnregister, ReasonLinkClose,
	// ReasonTimeOut.
	Reason string
	// Platform is the OptPlatform query parameter (the client's platform).
	Platform string
	// ClientIP is the ClientIP query parameter.
	ClientIP string
	// Kicked lists the platforms of devices kicked offline by this login;
	// KickedDevice is omitted from the body when it is empty.
	Kicked []string
	// UserDefineData is what the device's app set with
	// set_config_user_define_data before it logged in; UserDefineData is
	// omitted from the body when it is empty.
	UserDefineData string
	// Time is the EventTime (sent in Unix milliseconds). The zero value means
	// the time Send was called.
	Time time.Time
}

// Options configures a Sender. The zero value is usable.
type Options struct {
	// Timeout bounds each request, answer included; default DefaultTimeout.
	Timeout time.Duration
	// QueueSize is the number of events held while the endpoint is slow;
	// default DefaultQueueSize. Further events are dropped.
	QueueSize int
	// Workers is the number of concurrent requests; default DefaultWorkers.
	Workers int
	// Client sends the requests. When nil, a dedicated client is used that
	// does not follow redirects (a 3xx answer counts as a failure).
	Client *http.Client
	// Logger receives warnings; default slog.Default().
	Logger *slog.Logger
}

// Stats are cumulative delivery counters of a Sender.
type Stats struct {
	// Sent counts events acknowledged by the endpoint with ActionStatus "OK".
	Sent uint64
	// Failed counts events whose request failed: transport error, timeout,
	// non-2xx status, or an answer other than ActionStatus "OK".
	Failed uint64
	// Dropped counts events never sent: queue full, sender closed, or still
	// queued when Close gave up.
	Dropped uint64
}

// job is one queued delivery.
type job struct {
	url string
	ev  Event
}

// Sender delivers events asynchronously with a fixed pool of workers. It is
// safe for concurrent use. Create it with New and stop it with Close.
type Sender struct {
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger

	// ctx is the parent of every request; cancel aborts in-flight requests
	// when Close gives up.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.RWMutex // guards closed against the close of queue
	closed bool
	queue  chan job

	closeOnce sync.Once
	abortOnce sync.Once
	stop      chan struct{} // closed when Close gives up draining
	done      chan struct{} // closed when all workers have exited

	sent, failed, dropped atomic.Uint64
	lastDropLog           atomic.Int64 // UnixNano of the last drop warning
	dropsUnlogged         atomic.Uint64
}

// New returns a Sender configured by opts and starts its workers.
func New(opts Options) *Sender {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Client == nil {
		opts.Client = defaultClient(opts.Workers)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{
		timeout: opts.Timeout,
		client:  opts.Client,
		log:     opts.Logger,
		ctx:     ctx,
		cancel:  cancel,
		queue:   make(chan job, opts.QueueSize),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(s.work)
	}
	go func() {
		wg.Wait()
		// Workers only exit after Close closed the queue, so this ends.
		var left uint64
		for range s.queue {
			left++
		}
		if left > 0 {
			s.dropped.Add(left)
			s.log.Warn("webhook: queued events dropped on close", "dropped", left)
		}
		s.cancel()
		close(s.done)
	}()
	return s
}

// defaultClient returns a client that keeps one idle connection per worker
// and does not follow redirects.
func defaultClient(workers int) *http.Client {
	c := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = workers
		c.Transport = t
	}
	return c
}

// Send enqueues ev for delivery to url and returns immediately; it never
// performs I/O. It returns false, counts the event as Dropped and logs a
// rate-limited warning when the queue is full or the Sender is closed. An
// empty url means callbacks are not configured: Send does nothing and
// returns true.
func (s *Sender) Send(url string, ev Event) bool {
	if url == "" {
		return true
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.drop("sender closed", url, ev)
		return false
	}
	select {
	case s.queue <- job{url: url, ev: ev}:
		return true
	default:
		s.drop("queue full", url, ev)
		return false
	}
}

// drop counts a dropped event and logs it at most once per dropLogInterval.
func (s *Sender) drop(reason, url string, ev Event) {
	total := s.dropped.Add(1)
	now := time.Now().UnixNano()
	last := s.lastDropLog.Load()
	if now-last < int64(dropLogInterval) || !s.lastDropLog.CompareAndSwap(last, now) {
		s.dropsUnlogged.Add(1)
		return
	}
	s.log.Warn("webhook: event dropped",
		"reason", reason,
		"url", url,
		"account", ev.Account,
		"dropped_total", total,
		"dropped_unlogged", s.dropsUnlogged.Swap(0))
}

// Close stops accepting events, delivers those still queued until ctx is
// done, then stops the workers. If ctx ends first, in-flight requests are
// aborted, the remaining events are counted as Dropped and ctx.Err() is
// returned. Close is idempotent; calls after the workers have stopped return
// nil.
func (s *Sender) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	}
	s.abortOnce.Do(func() {
		close(s.stop)
		s.cancel()
	})
	<-s.done
	return ctx.Err()
}

// Stats returns the current delivery counters.
func (s *Sender) Stats() Stats {
	return Stats{
		Sent:    s.sent.Load(),
		Failed:  s.failed.Load(),
		Dropped: s.dropped.Load(),
	}
}

// work delivers queued events until the queue is closed and empty, or until
// Close gives up.
func (s *Sender) work() {
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		select {
		case <-s.stop:
			return
		case j, ok := <-s.queue:
			if !ok {
				return
			}
			s.deliver(j)
		}
	}
}

// deliver sends one event once (no retries) and records the outcome.
func (s *Sender) deliver(j job) {
	if err := s.post(j); err != nil {
		s.failed.Add(1)
		s.log.Warn("webhook: state change callback failed",
			"url", j.url,
			"account", j.ev.Account,
			"action", j.ev.Action,
			"error", err)
		return
	}
	s.sent.Add(1)
}

// callbackBody is the JSON body; field order is the order on the wire.
type callbackBody struct {
	CallbackCommand string         `json:"CallbackCommand"`
	EventTime       int64          `json:"EventTime"`
	Info            callbackInfo   `json:"Info"`
	KickedDevice    []kickedDevice `json:"KickedDevice,omitempty"`
	UserDefineData  string         `json:"UserDefineData,omitempty"`
}

// callbackInfo is the Info object of callbackBody.
type callbackInfo struct {
	Action    string `json:"Action"`
	ToAccount string `json:"To_Account"`
	Reason    string `json:"Reason"`
}

// kickedDevice is one element of KickedDevice.
type kickedDevice struct {
	Platform string `json:"Platform"`
}

// answer is the endpoint's expected reply.
type answer struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
}

// encodeBody returns the JSON body for ev.
func encodeBody(ev Event) ([]byte, error) {
	b := callbackBody{
		CallbackCommand: CallbackCommand,
		EventTime:       ev.Time.UnixMilli(),
		Info: callbackInfo{
			Action:    ev.Action,
			ToAccount: ev.Account,
			Reason:    ev.Reason,
		},
		UserDefineData: ev.UserDefineData,
	}
	for _, p := range ev.Kicked {
		b.KickedDevice = append(b.KickedDevice, kickedDevice{Platform: p})
	}
	return json.Marshal(b)
}

// callbackURL appends the callback's query parameters to base, after any
// query base already has.
func callbackURL(base string, ev Event) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	// Built by hand rather than with url.Values.Encode, which sorts keys, to
	// keep the documented parameter order.
	params := "SdkAppid=" + strconv.FormatUint(ev.SDKAppID, 10) +
		"&CallbackCommand=" + url.QueryEscape(CallbackCommand) +
		"&contenttype=json" +
		"&ClientIP=" + url.QueryEscape(ev.ClientIP) +
		"&OptPlatform=" + url.QueryEscape(ev.Platform)
	if u.RawQuery != "" {
		u.RawQuery += "&" + params
	} else {
		u.RawQuery = params
	}
	return u.String(), nil
}

// post performs the request for j and checks the answer.
func (s *Sender) post(j job) error {
	target, err := callbackURL(j.url, j.ev)
	if err != nil {
		return fmt.Errorf("invalid url: %w", err)
	}
	body, err := encodeBody(j.ev)
	if err != nil {
		return fmt.Errorf("encoding body: %w", err)
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("unexpected HTTP status %q", resp.Status)
	}
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return fmt.Errorf("decoding answer: %w", err)
	}
	if a.ActionStatus != "OK" || a.ErrorCode != 0 {
		return &AnswerError{ActionStatus: a.ActionStatus, ErrorCode: a.ErrorCode, ErrorInfo: a.ErrorInfo}
	}
	return nil
}

// AnswerError is the error logged when the endpoint answers 2xx but not with
// ActionStatus "OK" and ErrorCode 0.
type AnswerError struct {
	// ActionStatus is the answer's ActionStatus.
	ActionStatus string
	// ErrorCode is the answer's ErrorCode.
	ErrorCode int
	// ErrorInfo is the answer's ErrorInfo.
	ErrorInfo string
}

// Error implements error.
func (e *AnswerError) Error() string {
	return fmt.Sprintf("callback answer ActionStatus=%q ErrorCode=%d ErrorInfo=%q",
		e.ActionStatus, e.ErrorCode, e.ErrorInfo)
}
