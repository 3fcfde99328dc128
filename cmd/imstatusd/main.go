// Command imstatusd is the imstatus presence server.
//
//	imstatusd [FLAGS]                  serve (imstatusd --help lists the flags)
//	imstatusd usersig --sdkappid N --key K --user U [--expire SECONDS]
//	imstatusd status USER…             the REST API, as the app's administrator
//	imstatusd import USER…
//	imstatusd kick USER
//
// With no --apps it starts one development app with every switch on and
// prints its SDKAppID, secret key and an admin UserSig; the key is kept
// under --data, so UserSigs survive a restart. Accounts and friend links
// are kept on disk under --data (default ./imstatus-data); statuses live in
// memory, and clients assert theirs again when they reconnect. Every flag
// can also be set by an environment variable: IMSTATUSD_ADDR for --addr,
// IMSTATUSD_LEASE_TTL for --lease-ttl, and so on; the command line wins.
// SIGHUP reloads the apps file and the TLS certificate.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/boltdir"
	"github.com/imstatus/imstatus/server/presence/memstore"
	"github.com/imstatus/imstatus/server/presence/redisstore"
	"github.com/imstatus/imstatus/server/ratelog"
	"github.com/imstatus/imstatus/usersig"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "imstatusd:", err)
		os.Exit(1)
	}
}

// version is the release, set at build time (-ldflags -X main.version=…).
var version = "dev"

// subcommands are the commands besides serving, for --help.
const subcommands = `Usage:
  imstatusd [FLAGS]            serve WebSocket clients, the REST API, /healthz and /metrics
  imstatusd usersig FLAGS      print a UserSig (imstatusd usersig --help)
  imstatusd status USER...     print users' status, through a running server's REST API
  imstatusd import USER...     create accounts, through the REST API
  imstatusd kick USER          log a user's devices out, through the REST API
  imstatusd help | --help      this text
  imstatusd --version          the version

status, import and kick sign as the app's administrator with the key of
--apps (or the development app's key under --data); imstatusd status --help
lists their flags. Every flag can also be set by an environment variable:
IMSTATUSD_ and the flag's name in capitals with _ for -, e.g. IMSTATUSD_ADDR
for --addr; a flag on the command line wins. SIGHUP reloads the apps file
and the TLS certificate.

Flags:
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "usersig":
			return runUserSig(args[1:], stdout, stderr)
		case "status", "import", "kick":
			return runAdmin(args[0], args[1:], stdout)
		case "help":
			return serve([]string{"--help"}, stdout, stderr)
		}
		return fmt.Errorf("unknown subcommand %q (imstatusd --help lists them)", args[0])
	}
	return serve(args, stdout, stderr)
}

// parseFlags parses args into fs after the environment's IMSTATUSD_*
// variables, so that the command line wins. --help prints usage (after
// head) to stdout and answers errHelp.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, head string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fs.SetOutput(io.Discard) // errors are returned, help printed below
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, head)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		return fmt.Errorf("%w (--help lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (--help lists the flags and subcommands)", fs.Arg(0))
	}
	return nil
}

// errHelp: --help was asked for and printed; not a failure.
var errHelp = errors.New("help printed")

// envName is the environment variable of flag name.
func envName(name string) string {
	return "IMSTATUSD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func serve(args []string, stdout, stderr io.Writer) error {
	// Until the reload handler runs, a SIGHUP waits here: the default
	// action would end the process (a trap for `systemctl reload`).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	fs := flag.NewFlagSet("imstatusd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address `HOST:PORT` for WebSocket (/ws), REST (/v4/…) and /healthz")
	appsPath := fs.String("apps", "", "apps `FILE` (JSON, see README); empty starts one development app")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	maxConns := fs.Int("max-conns", 0, "at most `N` open WebSocket connections on this node; one past it is closed with 1013 (try again later). 0: no bound (the open-file limit is one)")
	maxConnsPerAddr := fs.Int("max-conns-per-addr", 0, "at most `N` open WebSocket connections from one remote address; leave 0 (no bound) behind a proxy or balancer that hides the clients' addresses")
	loginsPerAddr := fs.Int("logins-per-addr", 0, "at most `N` logins a second from one remote address (bursts of as many); one past it is answered 7008 before its UserSig is checked. 0: no bound; leave it 0 behind a proxy or balancer that hides the clients' addresses")
	httpRead := fs.Duration("http-read-timeout", 30*time.Second, "how long an HTTP request (REST, or a WebSocket upgrade) may take to arrive, headers and body; a slower client's connection is closed")
	httpIdle := fs.Duration("http-idle-timeout", 60*time.Second, "how long an HTTP keep-alive connection may wait idle for its next request")
	httpHeader := fs.Duration("http-header-timeout", 10*time.Second, "how long an HTTP request's headers may take to arrive (at most --http-read-timeout)")
	restBody := fs.Int("rest-body-limit", server.DefaultRESTBodyLimit, "the largest REST request body, in `bytes`; a larger one is refused in upstream's error envelope")
	pprofAddr := fs.String("pprof", "", "serve /debug/pprof/ on this separate `HOST:PORT` (off when empty; never expose it publicly)")
	tlsCert := fs.String("tls-cert", "", "serve wss:// and https:// with the certificate chain in this PEM `FILE` (with --tls-key; SIGHUP reloads both)")
	tlsKey := fs.String("tls-key", "", "the private key of --tls-cert, a PEM `FILE`")
	dataDir := fs.String("data", defaultDataDir, "`DIR` of the durable data (accounts and friend links, in DIR/"+dataFile+`); "" keeps them in memory only, lost when imstatusd stops`)
	nodeName := fs.String("node-id", "", "this node's `NAME` among nodes sharing a backend; each start adds a random suffix (NAME-1a2b3c), so a restarted node never takes over the device keys and lease of the process it replaces (default: random)")
	leaseTTL := fs.Duration("lease-ttl", 15*time.Second, "how long this node's devices stay ONLINE in the shared state if the node stops renewing them")
	maxCalls := fs.Int("max-backend-calls", 64, "with Redis: how many client requests this node runs against Redis at once (and a quarter as many closed links' departures beside); the others wait their turn (a request up to 8 s, then 70503 server busy). 0: no bound")
	redisURL := fs.String("redis", "", "share the state with other nodes in the Redis at this `URL` (redis://[:PASSWORD@]HOST:PORT[/DB]; rediss:// for TLS); accounts and friends live there, not under --data")
	redisCluster := fs.String("redis-cluster", "", "share the state in the Redis Cluster of these comma-separated `HOST:PORT`s, or of a URL redis://HOST:PORT?addr=HOST2:PORT2&addr=… (instead of --redis)")
	redisSentinel := fs.String("redis-sentinel", "", "share the state in the Redis whose master these Sentinels name: `URL` redis://[:PASSWORD@]SENTINEL:PORT[/DB]?master_name=NAME&addr=SENTINEL2:PORT2… (instead of --redis)")
	devKey := fs.String("dev-key", "", "without --apps: the development app's secret `KEY` (default: one made at the first start and kept in --data's dev-key file)")
	consoleOn := fs.Bool("console", false, "serve the admin console at /console/ on --addr for every app (\"console\": true in the apps file turns it on for one): each app's admin logs in with its identifier and a UserSig, or the app's secret key (serve it over TLS, --tls-cert, beyond loopback)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := parseFlags(fs, args, stdout, subcommands); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		fmt.Fprintf(stdout, "imstatusd %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var certs *certSource
	if *tlsCert != "" {
		var err error
		if certs, err = newCertSource(*tlsCert, *tlsKey); err != nil {
			return err
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	// Clients can make a server log (bad frames, failed webhooks, TLS
	// handshakes): no message is written faster than ratelog's bound.
	log := slog.New(ratelog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}), ratelog.Options{}))

	var apps []server.AppConfig
	if *appsPath != "" {
		var err error
		if apps, err = server.LoadApps(*appsPath); err != nil {
			return err
		}
	} else {
		key, where, err := devKeyOf(*devKey, *dataDir)
		if err != nil {
			return err
		}
		dev, sig, err := devApp(key)
		if err != nil {
			return err
		}
		apps = []server.AppConfig{dev}
		fmt.Fprintf(stdout, "development app: sdkappid=%d secret_key=%s admin=%s\nadmin usersig: %s\n",
			dev.SDKAppID, dev.SecretKey, dev.Admin, sig)
		if where == "" {
			log.Warn("the development app's key is new at every start (--data is empty): UserSigs made with it stop working at a restart; give --dev-key to keep one")
		} else {
			log.Info("development app", "key_file", where)
		}
	}
	ids := make([]uint64, len(apps))
	for i, a := range apps {
		ids[i] = a.SDKAppID
	}
	log.Info("apps loaded", "sdkappids", ids, "from", cmp.Or(*appsPath, "the development app"))
	opts := server.Options{Apps: apps, Logger: log, NodeID: nodeID(*nodeName), LeaseTTL: *leaseTTL,
		MaxConns: *maxConns, MaxConnsPerAddr: *maxConnsPerAddr, LoginsPerAddr: *loginsPerAddr, RESTBodyLimit: *restBody,
		Console: *consoleOn}
	if *maxCalls < 0 {
		return errors.New("--max-backend-calls: 0 (no bound) or more")
	}
	if *maxConns < 0 || *maxConnsPerAddr < 0 || *loginsPerAddr < 0 {
		return errors.New("--max-conns, --max-conns-per-addr and --logins-per-addr: 0 (no bound) or more")
	}
	if *httpRead <= 0 || *httpIdle <= 0 || *httpHeader <= 0 {
		return errors.New("--http-read-timeout, --http-idle-timeout and --http-header-timeout must be more than 0")
	}
	if *restBody <= 0 {
		return errors.New("--rest-body-limit must be more than 0")
	}
	rdb, err := redisClient(*redisURL, *redisCluster, *redisSentinel)
	if err != nil {
		return err
	}
	if rdb != nil {
		defer rdb.Close()
		// go-redis logs through a package-level logger; this process has
		// one Redis client, so it is set here, once.
		redis.SetLogger(redisLog{log})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		opts.Backend = func(c server.AppConfig) (presence.Backend, error) {
			return redisstore.NewBackend(rdb, redisPrefix, c.SDKAppID, log), nil
		}
		opts.Health = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
		opts.MaxBackendCalls = *maxCalls
		stats := &redisstore.Stats{}
		rdb.AddHook(stats)
		opts.Counters = func() []server.Counter {
			return []server.Counter{
				{Name: "imstatus_redis_round_trips_total", Help: "Commands, pipelines and transactions sent to Redis.", Value: stats.RoundTrips.Load()},
				{Name: "imstatus_redis_errors_total", Help: "Of those, and of the connections dialled, the ones that failed.", Value: stats.Errors.Load()},
			}
		}
		log.Info("state shared in Redis; --data is not used", "redis", redisTarget(*redisURL, *redisCluster, *redisSentinel))
	} else if *dataDir == "" {
		log.Warn("--data is empty: accounts and friend links live in memory and are lost when imstatusd stops")
	} else {
		db, err := boltdir.Open(filepath.Join(*dataDir, dataFile), boltdir.Options{})
		if err != nil {
			return fmt.Errorf("--data: %w", err)
		}
		defer db.Close()
		opts.Backend = func(c server.AppConfig) (presence.Backend, error) {
			b := memstore.NewBackend()
			b.Directory = db.App(c.SDKAppID)
			return b, nil
		}
		log.Info("durable data", "file", db.Path())
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ln = srv.Listener(ln) // failed accepts counted and logged
	if certs != nil {
		ln = tls.NewListener(ln, certs.config())
		fmt.Fprintf(stdout, "TLS: wss://%s/ws, https://%s/\n", ln.Addr(), ln.Addr())
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	// The read timeout covers a request's body too (the header one alone let
	// a slow POST hold its connection for minutes); WebSocket links are
	// not bound by it: the upgrade clears the deadlines it set.
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: min(*httpHeader, *httpRead),
		ReadTimeout: *httpRead, WriteTimeout: *httpRead, IdleTimeout: *httpIdle,
		ConnState: srv.ConnState, // with srv.Listener: the timeouts counted
		// Mostly failed TLS handshakes (scanners, clients that distrust the
		// certificate): details for debugging, not alarms.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}

	if *pprofAddr != "" {
		pln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		// The mutex profile samples one contended unlock in 20: cheap, and
		// lock contention is one of the things a profile is wanted for.
		runtime.SetMutexProfileFraction(20)
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go http.Serve(pln, mux)
		fmt.Fprintf(stdout, "pprof on %s\n", pln.Addr())
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		for {
			select {
			case <-hup:
				reload(log, srv, *appsPath, certs, *tlsCert)
			case <-ctx.Done():
				return
			}
		}
	}()
	go srv.Run(ctx)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	log.Info("imstatusd started", "addr", ln.Addr().String(), "apps", len(apps), "tls", certs != nil, "node", srv.NodeID())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	err = hs.Shutdown(sctx)
	if serr := srv.Shutdown(sctx); err == nil {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped")
	return err
}

// reload is what SIGHUP does: the apps file (if one was given) and the TLS
// pair (if any) are read again; one that does not load leaves what is in
// use, and the log says why.
func reload(log *slog.Logger, srv *server.Server, appsPath string, certs *certSource, certPath string) {
	if appsPath == "" && certs == nil {
		log.Info("SIGHUP: nothing to reload (no --apps, no TLS)")
		return
	}
	if certs != nil {
		if err := certs.load(); err != nil {
			log.Error("SIGHUP: keeping the certificate in use", "err", err)
		} else {
			log.Info("SIGHUP: TLS certificate reloaded", "cert", certPath)
		}
	}
	if appsPath == "" {
		return
	}
	apps, err := server.LoadApps(appsPath)
	if err == nil {
		var added, changed, removed []uint64
		if added, changed, removed, err = srv.Reload(apps); err == nil {
			log.Info("SIGHUP: apps reloaded", "file", appsPath, "added", added, "changed", changed, "removed", removed)
			return
		}
	}
	log.Error("SIGHUP: keeping the apps in use", "file", appsPath, "err", err)
}

// redisPrefix begins every key and channel imstatusd keeps in Redis.
const redisPrefix = "imstatus"

// redisClient connects to the Redis of --redis, --redis-cluster or
// --redis-sentinel (nil when none is given).
func redisClient(url, cluster, sentinel string) (redis.UniversalClient, error) {
	given := 0
	for _, f := range []string{url, cluster, sentinel} {
		if f != "" {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, errors.New("--redis, --redis-cluster and --redis-sentinel: give one")
	case url != "":
		o, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		failFast(&o.MaxRetries, &o.DialerRetries, &o.DialTimeout)
		o.Protocol = redisstore.Protocol
		return redis.NewClient(o), nil
	case cluster != "":
		o := &redis.ClusterOptions{Addrs: strings.Split(cluster, ",")}
		if strings.Contains(cluster, "://") {
			var err error
			if o, err = redis.ParseClusterURL(cluster); err != nil {
				return nil, fmt.Errorf("--redis-cluster: %w", err)
			}
		}
		failFast(&o.MaxRetries, &o.DialerRetries, &o.DialTimeout)
		o.Protocol = redisstore.Protocol
		return redis.NewClusterClient(o), nil
	case sentinel != "":
		o, err := redis.ParseFailoverURL(sentinel)
		if err != nil {
			return nil, fmt.Errorf("--redis-sentinel: %w", err)
		}
		if o.MasterName == "" {
			return nil, errors.New("--redis-sentinel: the URL names no master (?master_name=NAME)")
		}
		failFast(&o.MaxRetries, &o.DialerRetries, &o.DialTimeout)
		o.Protocol = redisstore.Protocol
		return redis.NewFailoverClient(o), nil
	}
	return nil, nil
}

// failFast sets go-redis's retries, unless the URL set them, so that a
// call meets a Redis that is down with an error in about a second rather
// than after go-redis's defaults (3 retries × 5 dials × 5 s): a client is
// answered with a server error, never kept waiting. One retry still
// covers a pooled connection that a Redis restart closed.
func failFast(retries, dials *int, dialTimeout *time.Duration) {
	if *retries == 0 {
		*retries = 1
	}
	if *dials == 0 {
		*dials = 1
	}
	if *dialTimeout == 0 {
		*dialTimeout = time.Second
	}
}

// redisLog takes go-redis's own log lines (a failed dial, say, one per
// call while Redis is down) into the node's log, rate-limited.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("redis client", "detail", fmt.Sprintf(format, v...))
}

// redisTarget names the Redis for the log, without a password.
func redisTarget(url, cluster, sentinel string) string {
	switch {
	case cluster != "" && !strings.Contains(cluster, "://"):
		return "cluster " + cluster
	case cluster != "":
		if o, err := redis.ParseClusterURL(cluster); err == nil {
			return "cluster " + strings.Join(o.Addrs, ",")
		}
		return "cluster ?"
	case sentinel != "":
		if o, err := redis.ParseFailoverURL(sentinel); err == nil {
			return "master " + o.MasterName + " of sentinels " + strings.Join(o.SentinelAddrs, ",")
		}
		return "sentinel ?"
	}
	if o, err := redis.ParseURL(url); err == nil {
		return o.Addr + "/" + strconv.Itoa(o.DB)
	}
	return "?"
}

// The durable data's default place, relative to the working directory (as
// etcd's default.etcd), and its file name within it.
const (
	defaultDataDir = "imstatus-data"
	dataFile       = "imstatus.db"
)

// devAppID is the development app's SDKAppID.
const devAppID = 1400000000

// devKeyFile holds the development app's key, in --data.
const devKeyFile = "dev-key"

// devKeyOf is the development app's key: given, else the one kept in
// dataDir (made at the first start), else (no dataDir) a new one. where
// is the file it is kept in ("" when none).
func devKeyOf(given, dataDir string) (key, where string, err error) {
	if given != "" {
		return given, "--dev-key", nil
	}
	if dataDir == "" {
		return randomKey(), "", nil
	}
	path := filepath.Join(dataDir, devKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		return strings.TrimSpace(string(b)), path, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", fmt.Errorf("--data: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", "", fmt.Errorf("--data: %w", err)
	}
	key = randomKey()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("--data: %w", err)
	}
	return key, path, nil
}

func randomKey() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// devApp makes the development app: every switch on.
func devApp(key string) (server.AppConfig, string, error) {
	on := true
	c := server.AppConfig{
		SDKAppID:               devAppID,
		SecretKey:              key,
		Edition:                "ultimate",
		UserStatusEnabled:      &on,
		FriendStatusAutoNotify: &on,
	}.WithDefaults()
	if err := c.Validate(); err != nil {
		return c, "", fmt.Errorf("the development app: %w", err)
	}
	sig, err := usersig.Generate(c.SecretKey, c.SDKAppID, c.Admin, 180*24*time.Hour, time.Now())
	return c, sig, err
}

func runUserSig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("imstatusd usersig", flag.ContinueOnError)
	fs.SetOutput(stderr)
	appID := fs.Uint64("sdkappid", 0, "the app's `SDKAppID`")
	key := fs.String("key", "", "the app's secret `KEY`")
	user := fs.String("user", "", "the `USER` id the UserSig is for")
	expire := fs.Int64("expire", 180*24*3600, "validity in `SECONDS`")
	if err := parseFlags(fs, args, stdout, "Usage: imstatusd usersig --sdkappid N --key K --user U [--expire SECONDS]\n\nFlags:\n"); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if *appID == 0 || *key == "" || *user == "" {
		fs.Usage()
		return errors.New("usersig: --sdkappid, --key and --user are required")
	}
	sig, err := usersig.Generate(*key, *appID, *user, time.Duration(*expire)*time.Second, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, sig)
	return nil
}

// nodeID is this start's node id: name with a random suffix. Device keys
// and the lease are the node id's: a restart under the same id would keep
// the dead process's lease alive (its devices never swept, ONLINE for
// good) and hand out its device keys again (a login kicking itself).
func nodeID(name string) string {
	if name == "" {
		return "" // the server picks a random one
	}
	var b [3]byte
	rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}
