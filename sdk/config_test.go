package sdk

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// TIMSetConfig works before Init, refuses what it cannot take without
// setting anything, answers every setting, and its log levels decide what
// reaches the log callback.
func TestSetConfig(t *testing.T) {
	sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}}
	t.Cleanup(func() { sd.Uninit() })
	never := func(int, string, string) { t.Error("a callback fired for a call that did not return TIM_SUCC") }
	for config, want := range map[string]int{"": ErrParam, "  ": ErrParam, "[1]": ErrJSON, "{": ErrJSON, "null": ErrJSON} {
		if got := sd.SetConfig(config, never); got != want {
			t.Errorf("SetConfig(%q) = %d, want %d", config, got, want)
		}
	}
	r := newResults(t)
	for name, config := range map[string]string{
		"level a string":    `{"set_config_log_level":"4"}`,
		"level 8":           `{"set_config_callback_log_level":8}`,
		"level 4.5":         `{"set_config_callback_log_level":4.5}`,
		"console a number":  `{"set_config_is_log_output_console":1}`,
		"data too long":     `{"set_config_user_define_data":"` + strings.Repeat("x", wire.MaxUserDefineData+1) + `"}`,
		"data not a string": `{"set_config_user_define_data":{}}`,
		"good and bad":      `{"set_config_log_level":6,"set_config_callback_log_level":-1}`,
	} {
		check(t, r, name, func(cb Result) int { return sd.SetConfig(config, cb) }, wire.CodeInvalidParams)
	}
	got := check(t, r, "defaults", func(cb Result) int { return sd.SetConfig(`{"some_unknown_key":1}`, cb) }, 0)
	if j := gjson.Parse(got.json); j.Get("set_config_log_level").Int() != LogDebug || j.Get("set_config_callback_log_level").Int() != LogDebug {
		t.Fatalf("after refused configs the levels changed: %s", got.json)
	}
	got = check(t, r, "set", func(cb Result) int {
		return sd.SetConfig(`{"set_config_callback_log_level":6,"set_config_user_define_data":"room=7","set_config_http_proxy_info":{"http_proxy_info_ip":"x"}}`, cb)
	}, 0)
	if j := gjson.Parse(got.json); j.Get("set_config_callback_log_level").Int() != LogError || j.Get("set_config_user_define_data").Str != "room=7" ||
		j.Get("set_config_log_level").Int() != LogDebug {
		t.Fatalf("SetConfig answered %s", got.json)
	}
	// The callback now gets errors only: a warning written does not reach it.
	var mu sync.Mutex
	var lines []string
	sd.SetHandlers(func(h *Handlers) {
		h.Log = func(_ int, line string) {
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
		}
	})
	if sd.Init(testserver.App, "") != Succ {
		t.Fatal("Init")
	}
	for _, w := range []struct {
		level int
		text  string
	}{{LogWarn, "a-warning"}, {LogError, "an-error"}} {
		check(t, r, w.text, func(cb Result) int {
			return sd.Experimental(`{"request_internal_operation":"internal_operation_write_log","request_write_log_log_level_param":`+
				string(rune('0'+w.level))+`,"request_write_log_log_content_param":"`+w.text+`"}`, cb)
		}, 0)
	}
	mu.Lock()
	all := strings.Join(lines, "\n")
	mu.Unlock()
	if strings.Contains(all, "a-warning") || !strings.Contains(all, "an-error") || strings.Contains(all, "SDK initialised") {
		t.Fatalf("with the callback level at Error the callback got:\n%s", all)
	}
}

// set_config_user_define_data reaches the State.StateChange webhook with
// the device's login, as upstream passes it; a change takes effect at the
// next login.
func TestUserDefineDataReachesTheWebhook(t *testing.T) {
	bodies := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
		io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
	}))
	t.Cleanup(hook.Close)
	s := testserver.Start(t, func(a *server.AppConfig) { a.WebhookURL = hook.URL })
	sd := newSDK(t, s)
	r := newResults(t)
	check(t, r, "config", func(cb Result) int { return sd.SetConfig(`{"set_config_user_define_data":"room=7"}`, cb) }, 0)
	if sd.Init(testserver.App, "") != Succ {
		t.Fatal("Init")
	}
	next := func(action string) gjson.Result {
		t.Helper()
		for {
			select {
			case b := <-bodies:
				if j := gjson.Parse(b); j.Get("Info.Action").Str == action {
					return j
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s webhook", action)
			}
		}
	}
	check(t, r, "login", func(cb Result) int { return sd.Login("u", s.Sig("u", time.Hour), cb) }, 0)
	if got := next("Login").Get("UserDefineData"); got.Str != "room=7" {
		t.Fatalf("Login webhook's UserDefineData = %s, want room=7", got.Raw)
	}
	check(t, r, "config2", func(cb Result) int { return sd.SetConfig(`{"set_config_user_define_data":"room=8"}`, cb) }, 0)
	check(t, r, "logout", func(cb Result) int { return sd.Logout(cb) }, 0)
	if got := next("Logout").Get("UserDefineData"); got.Str != "room=7" {
		t.Fatalf("Logout webhook's UserDefineData = %s, want the login's room=7", got.Raw)
	}
	check(t, r, "login2", func(cb Result) int { return sd.Login("u", s.Sig("u", time.Hour), cb) }, 0)
	if got := next("Login").Get("UserDefineData"); got.Str != "room=8" {
		t.Fatalf("second Login webhook's UserDefineData = %s, want room=8", got.Raw)
	}
}
