package sdk

import (
	"strings"
	"testing"
	"time"

	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// The JSON-taking entry points must never panic, and must accept only what
// they promise.

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{``, `null`, `[]`, `["a","b"]`, `[1]`, `{"a":1}`, `["` + strings.Repeat("x", 40) + `"]`, `[[[[`, "[\"\xff\"]"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, json string, emptyOK bool) {
		ids, r := parseIDs(json, emptyOK)
		switch r {
		case Succ:
			if len(ids) == 0 && !emptyOK {
				t.Fatal("an empty list accepted")
			}
			for _, id := range ids {
				if !usersig.ValidUserID(id) {
					t.Fatalf("invalid id %q accepted", id)
				}
			}
		case ErrJSON, ErrParam:
			if ids != nil {
				t.Fatal("ids returned with an error")
			}
		default:
			t.Fatalf("unexpected result %d", r)
		}
	})
}

func FuzzParseSelfStatus(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"user_status_custom_status":"x"}`, `{"user_status_custom_status":null}`,
		`{"user_status_custom_status":1}`, `[]`, `"x"`, `{"user_status_custom_status":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, json string) {
		custom, r := parseSelfStatus(json)
		if r != Succ && custom != "" {
			t.Fatal("a custom status returned with an error")
		}
		if r != Succ && r != ErrJSON && r != ErrParam {
			t.Fatalf("unexpected result %d", r)
		}
	})
}

func FuzzExperimental(f *testing.F) {
	for _, s := range []string{
		`{"request_internal_operation":"internal_operation_set_custom_server_info","request_set_custom_server_info_param":{"longconnection_address_array":[{"server_address_ip":"127.0.0.1","server_address_port":8080}]}}`,
		`{"request_internal_operation":"internal_operation_set_custom_server_info","request_set_custom_server_info_param":{"longconnection_address_array":[{"server_address_ip":"wss://h:1/ws"}],"server_public_key":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}`,
		`{"request_internal_operation":"internal_operation_set_custom_server_info","request_set_custom_server_info_param":{"longconnection_address_array":[{"server_address_ip":"ws://"}]}}`,
		`{"request_internal_operation":"internal_operation_set_ui_platform"}`,
		`{"request_internal_operation":"internal_operation_write_log","request_write_log_param":{"request_write_log_log_content_param":"x"}}`,
		`{"request_internal_operation":1}`, `{}`, `null`, ``,
	} {
		f.Add(s)
	}
	sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}}
	f.Cleanup(func() { sd.Uninit() })
	f.Fuzz(func(t *testing.T, json string) {
		fired := make(chan int, 1)
		r := sd.Experimental(json, func(code int, desc, _ string) {
			if code != 0 && desc == "" {
				t.Error("an error without a desc")
			}
			fired <- code
		})
		switch r {
		case Succ:
			<-fired // exactly one answer
		case ErrJSON, ErrParam:
		default:
			t.Fatalf("unexpected result %d", r)
		}
		select {
		case <-fired:
			t.Fatal("a callback for a call that did not return TIM_SUCC, or a second one")
		default:
		}
	})
}

func FuzzInitConfig(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"sdk_config_log_file_path":""}`, `[]`, `null`, `{"sdk_config_device_type":1}`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, config string) {
		sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}}
		// A log directory from the fuzzer would write anywhere: keep it out.
		if strings.Contains(config, "sdk_config_log_file_path") {
			return
		}
		r := sd.Init(testApp, config)
		if r != Succ && r != ErrJSON {
			t.Fatalf("Init(%q) = %d", config, r)
		}
		sd.Uninit()
	})
}

// FuzzSetConfig: any config answers TIM_SUCC with exactly one callback (0
// or 6017), or a synchronous TIM_ERR_PARAM / TIM_ERR_JSON with none.
func FuzzSetConfig(f *testing.F) {
	for _, s := range []string{``, `{}`, `null`, `{"set_config_log_level":4}`, `{"set_config_callback_log_level":-1}`,
		`{"set_config_user_define_data":"x"}`, `{"set_config_is_log_output_console":true}`, `[`} {
		f.Add(s)
	}
	sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}}
	f.Cleanup(func() { sd.Uninit() })
	f.Fuzz(func(t *testing.T, config string) {
		calls := make(chan int, 2)
		r := sd.SetConfig(config, func(code int, _, _ string) { calls <- code })
		switch r {
		case Succ:
			select {
			case code := <-calls:
				if code != 0 && code != wire.CodeInvalidParams {
					t.Fatalf("SetConfig(%q): callback code %d", config, code)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("SetConfig(%q): no callback", config)
			}
			select {
			case <-calls:
				t.Fatalf("SetConfig(%q): a second callback", config)
			case <-time.After(time.Millisecond):
			}
		case ErrParam, ErrJSON:
			select {
			case <-calls:
				t.Fatalf("SetConfig(%q) = %d with a callback", config, r)
			case <-time.After(time.Millisecond):
			}
		default:
			t.Fatalf("SetConfig(%q) = %d", config, r)
		}
	})
}

const testApp = 1400000000
