package sdk

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/wire"
)

// settings is what TIMSetConfig set. It outlives Init and Uninit, as
// upstream's does, so it may be set before TIMInit.
type settings struct {
	// fileLevel and callbackLevel are the lowest TIMLogLevel written to the
	// log file and passed to the log callback, plus one: 0 is unset (every
	// level), 1 is kTIMLog_Off.
	fileLevel, callbackLevel atomic.Int32
	console                  atomic.Bool // kept and answered; imstatus writes no console log
	userData                 atomic.Pointer[string]
}

// userDefineData is set_config_user_define_data, "" if never set.
func (s *SDK) userDefineData() string {
	if p := s.settings.userData.Load(); p != nil {
		return *p
	}
	return ""
}

// passes reports whether a line of TIMLogLevel level goes where set (a
// settings level) lets it.
func passes(set int32, level int) bool {
	return set == 0 || set-1 != LogOff && level >= int(set-1)
}

// SetConfig is TIMSetConfig: it sets the log levels
// (set_config_log_level for the file, set_config_callback_log_level for the
// callback), set_config_is_log_output_console and
// set_config_user_define_data, and answers every setting through cb. Keys
// it does not know (upstream's proxies among them, which serve file
// uploads imstatus does not make) are accepted and ignored. A value of the
// wrong type or range answers 6017 and sets nothing.
func (s *SDK) SetConfig(config string, cb Result) int {
	if strings.TrimSpace(config) == "" {
		return ErrParam
	}
	if wire.CheckJSON(config) != nil || !gjson.Parse(config).IsObject() {
		return ErrJSON
	}
	k, end, ok := s.beginAnytime(cb)
	if !ok {
		return ErrSDKUninit
	}
	defer end()
	req := gjson.Parse(config)
	level := func(key string) (int32, error) {
		v := req.Get(key)
		if !v.Exists() {
			return 0, nil
		}
		if v.Type != gjson.Number || v.Num != float64(int(v.Num)) || v.Num < LogOff || v.Num > LogAssert {
			return 0, fmt.Errorf("%s must be a TIMLogLevel, 0 to 7 (got %.40s)", key, v.Raw)
		}
		return int32(v.Num) + 1, nil
	}
	file, err := level("set_config_log_level")
	var callback int32
	if err == nil {
		callback, err = level("set_config_callback_log_level")
	}
	console := req.Get("set_config_is_log_output_console")
	if err == nil && console.Exists() && console.Type != gjson.True && console.Type != gjson.False {
		err = fmt.Errorf("set_config_is_log_output_console must be true or false (got %.40s)", console.Raw)
	}
	data := req.Get("set_config_user_define_data")
	if err == nil && data.Exists() && (data.Type != gjson.String || len(data.Str) > wire.MaxUserDefineData || !utf8.ValidString(data.Str)) {
		err = fmt.Errorf("set_config_user_define_data must be a UTF-8 string of at most %d bytes", wire.MaxUserDefineData)
	}
	if err != nil {
		k.finish(wire.CodeInvalidParams, err.Error(), "")
		return Succ
	}
	if file != 0 {
		s.settings.fileLevel.Store(file)
	}
	if callback != 0 {
		s.settings.callbackLevel.Store(callback)
	}
	if console.Exists() {
		s.settings.console.Store(console.Bool())
	}
	if data.Exists() {
		d := data.Str
		s.settings.userData.Store(&d)
	}
	k.finish(0, "", s.settingsJSON())
	return Succ
}

// settingsJSON is every setting, as TIMSetConfig's callback answers them.
func (s *SDK) settingsJSON() string {
	lvl := func(set int32) int {
		if set == 0 {
			return LogDebug // unset: every line from Debug on, all imstatus writes
		}
		return int(set - 1)
	}
	d := s.userDefineData()
	b, _ := json.Marshal(struct {
		File     int    `json:"set_config_log_level"`
		Callback int    `json:"set_config_callback_log_level"`
		Console  bool   `json:"set_config_is_log_output_console"`
		Data     string `json:"set_config_user_define_data"`
	}{lvl(s.settings.fileLevel.Load()), lvl(s.settings.callbackLevel.Load()), s.settings.console.Load(), d})
	return string(b)
}
