package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
)

// runAdmin runs the operator's commands — status, import, kick — against
// a running server's REST API, signing as the app's administrator with
// the key of the apps file (or the development app's, under --data).
func runAdmin(cmd string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("imstatusd "+cmd, flag.ContinueOnError)
	srvURL := fs.String("server", "http://127.0.0.1:8080", "the server's `URL` (http:// or https://)")
	appsPath := fs.String("apps", "", "the apps `FILE` the server runs with (default: the development app)")
	dataDir := fs.String("data", defaultDataDir, "without --apps: the server's --data `DIR`, where the development app's key is kept")
	devKey := fs.String("dev-key", "", "without --apps: the development app's `KEY`, if the server was given one")
	appID := fs.Uint64("sdkappid", 0, "the app's `SDKAppID` (default: the apps file's only app)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long the call may take")
	usage := map[string]string{
		"status": "Usage: imstatusd status [FLAGS] USER...\n\nPrints each user's status (Online, Offline, or not an account) and, online, its platforms.\n\nFlags:\n",
		"import": "Usage: imstatusd import [FLAGS] USER...\n\nCreates the accounts (existing ones are left alone).\n\nFlags:\n",
		"kick":   "Usage: imstatusd kick [FLAGS] USER\n\nLogs every device of the user out.\n\nFlags:\n",
	}[cmd]
	// The users come after the flags: parse them apart.
	var users []string
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			users = append(users, args[i])
			args = slices.Delete(args, i, i+1)
			i--
		} else if !strings.Contains(args[i], "=") && i+1 < len(args) && isValueFlag(fs, args[i]) {
			i++ // the flag's value
		}
	}
	if err := parseFlags(fs, args, stdout, usage); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	switch {
	case len(users) == 0:
		return fmt.Errorf("%s: no user given (imstatusd %s --help)", cmd, cmd)
	case cmd == "kick" && len(users) > 1:
		return errors.New("kick: one user at a time")
	}
	for _, u := range users {
		if err := usersig.CheckUserID(u); err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
	}
	app, err := adminApp(*appsPath, *appID, *devKey, *dataDir)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	call := func(command string, body any) (map[string]any, error) {
		return restCall(ctx, *srvURL, app, command, body)
	}
	switch cmd {
	case "status":
		for ids := range slices.Chunk(users, 500) {
			r, err := call("openim/query_online_status", map[string]any{"To_Account": ids, "IsNeedDetail": 1})
			if err != nil {
				return err
			}
			printStatuses(stdout, r)
		}
	case "import":
		for ids := range slices.Chunk(users, 100) {
			r, err := call("im_open_login_svc/multiaccount_import", map[string]any{"Accounts": ids})
			if err != nil {
				return err
			}
			if fails, _ := r["FailAccounts"].([]any); len(fails) > 0 {
				return fmt.Errorf("import: refused: %v", fails)
			}
		}
		fmt.Fprintf(stdout, "imported %d account(s)\n", len(users))
	case "kick":
		if _, err := call("im_open_login_svc/kick", map[string]any{"UserID": users[0]}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "kicked %s\n", users[0])
	}
	return nil
}

// isValueFlag reports whether arg ("-name" or "--name") names a flag of
// fs that takes a value.
func isValueFlag(fs *flag.FlagSet, arg string) bool {
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// adminApp is the app the commands sign for: the apps file's (the one
// numbered appID, or its only one), or the development app.
func adminApp(appsPath string, appID uint64, devKey, dataDir string) (server.AppConfig, error) {
	if appsPath == "" {
		if devKey == "" {
			// The key the server made at its first start.
			b, err := readDevKey(dataDir)
			if err != nil {
				return server.AppConfig{}, fmt.Errorf("no --apps, and the development app's key: %w (give --apps, or the server's --data or --dev-key)", err)
			}
			devKey = b
		}
		c, _, err := devApp(devKey)
		return c, err
	}
	apps, err := server.LoadApps(appsPath)
	if err != nil {
		return server.AppConfig{}, err
	}
	if appID == 0 {
		if len(apps) > 1 {
			return server.AppConfig{}, fmt.Errorf("%s holds %d apps: say which with --sdkappid", appsPath, len(apps))
		}
		return apps[0], nil
	}
	for _, a := range apps {
		if a.SDKAppID == appID {
			return a, nil
		}
	}
	return server.AppConfig{}, fmt.Errorf("%s holds no app %d", appsPath, appID)
}

// readDevKey reads the development app's key that the server keeps in
// dataDir.
func readDevKey(dataDir string) (string, error) {
	if dataDir == "" {
		return "", errors.New("--data is empty")
	}
	b, err := os.ReadFile(filepath.Join(dataDir, devKeyFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// restCall posts body to the REST command of app's server as its
// administrator and returns the answer, an error unless it says OK.
func restCall(ctx context.Context, base string, app server.AppConfig, command string, body any) (map[string]any, error) {
	sig, err := usersig.Generate(app.SecretKey, app.SDKAppID, app.Admin, 5*time.Minute, time.Now())
	if err != nil {
		return nil, err
	}
	q := url.Values{"sdkappid": {strconv.FormatUint(app.SDKAppID, 10)}, "identifier": {app.Admin},
		"usersig": {sig}, "random": {strconv.FormatInt(time.Now().UnixNano()&0xffffffff, 10)}, "contenttype": {"json"}}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	u := strings.TrimRight(base, "/") + "/v4/" + command + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s answered HTTP %d, not JSON: %.200q", base, resp.StatusCode, raw)
	}
	if r["ActionStatus"] != "OK" {
		return r, fmt.Errorf("%s: error %v: %v", command, r["ErrorCode"], r["ErrorInfo"])
	}
	return r, nil
}

// printStatuses prints query_online_status's answer, a user a line.
func printStatuses(w io.Writer, r map[string]any) {
	results, _ := r["QueryResult"].([]any)
	for _, x := range results {
		m, _ := x.(map[string]any)
		var platforms []string
		detail, _ := m["Detail"].([]any)
		for _, d := range detail {
			if dm, ok := d.(map[string]any); ok {
				platforms = append(platforms, fmt.Sprint(dm["Platform"]))
			}
		}
		fmt.Fprintf(w, "%v\t%v", m["To_Account"], m["Status"])
		if len(platforms) > 0 {
			fmt.Fprintf(w, "\t%s", strings.Join(platforms, ","))
		}
		fmt.Fprintln(w)
	}
	errs, _ := r["ErrorList"].([]any)
	for _, x := range errs {
		m, _ := x.(map[string]any)
		fmt.Fprintf(w, "%v\tnot an account\n", m["To_Account"])
	}
}
