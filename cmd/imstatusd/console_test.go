package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The console is served only with --console, and the development app's
// printed key logs in to it.
func TestConsoleFlag(t *testing.T) {
	for _, on := range []bool{false, true} {
		var d *daemon
		if on {
			d = start(t, "--console")
		} else {
			d = start(t)
		}
		resp, err := http.Get("http://" + d.addr + "/console/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: 404, true: 200}[on]; resp.StatusCode != want {
			t.Fatalf("--console=%v: GET /console/ %d, want %d", on, resp.StatusCode, want)
		}
		if !on {
			continue
		}
		m := regexp.MustCompile(`sdkappid=(\d+) secret_key=([0-9a-f]{64})`).FindStringSubmatch(strings.Join(d.out, "\n"))
		if m == nil {
			t.Fatalf("no development app in %q", d.out)
		}
		resp, err = http.Post("http://"+d.addr+"/console/api/login", "application/json",
			strings.NewReader(`{"sdkappid":"`+m[1]+`","key":"`+m[2]+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || len(resp.Cookies()) == 0 {
			t.Fatalf("console login with the development key: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
	}
}
