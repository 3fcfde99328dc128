package main

import (
	"fmt"
	"strings"
	"testing"
)

// push is a status push of statuses written "id/version/custom" (version 0:
// no user_status_version key).
func push(statuses ...string) string {
	var parts []string
	for _, s := range statuses {
		f := strings.SplitN(s, "/", 3)
		obj := fmt.Sprintf(`{"user_status_identifier":%q,"user_status_status_type":1,"user_status_custom_status":%q,"user_status_online_devices":["Linux"]`, f[0], f[2])
		if f[1] != "0" {
			obj += `,"user_status_version":` + f[1]
		}
		parts = append(parts, obj+"}")
	}
	return `{"op":"status","body":[` + strings.Join(parts, ",") + `]}`
}

func TestOrderView(t *testing.T) {
	for _, tc := range []struct {
		name              string
		frames            []string
		statuses          int64
		outOfOrder, stale int64
		holds             map[string]int
	}{
		{name: "in order, no versions (the old engine)",
			frames:   []string{push("a/0/"), push("a/0/o:1"), push("a/0/o:2"), push("a/0/o:3")},
			statuses: 4, holds: map[string]int{"a": 3}},
		{name: "a snapshot repeating the status held",
			frames:   []string{push("a/0/o:2"), push("a/0/o:2", "b/0/o:7")},
			statuses: 3, holds: map[string]int{"a": 2, "b": 7}},
		{name: "backwards without versions",
			frames:   []string{push("a/0/o:1"), push("a/0/o:3"), push("a/0/o:2"), push("a/0/o:4")},
			statuses: 4, outOfOrder: 1, holds: map[string]int{"a": 4}},
		{name: "each step back counts",
			frames:   []string{push("a/0/o:5"), push("a/0/o:4"), push("a/0/o:3")},
			statuses: 3, outOfOrder: 2, holds: map[string]int{"a": 3}},
		{name: "a stale snapshot is dropped by its version",
			frames:   []string{push("a/1/"), push("a/2/o:1"), push("a/4/o:3"), push("a/3/o:2"), push("a/5/o:4")},
			statuses: 5, stale: 1, holds: map[string]int{"a": 4}},
		{name: "an older version after a newer one, as last frame: the newer stays",
			frames:   []string{push("a/7/o:6"), push("a/6/o:5")},
			statuses: 2, stale: 1, holds: map[string]int{"a": 6}},
		{name: "equal version accepted",
			frames:   []string{push("a/3/o:2"), push("a/3/o:2")},
			statuses: 2, holds: map[string]int{"a": 2}},
		{name: "a version going up with a sequence going down is out of order",
			frames:   []string{push("a/3/o:3"), push("a/4/o:2")},
			statuses: 2, outOfOrder: 1, holds: map[string]int{"a": 2}},
		{name: "a status without version is accepted whatever is held",
			frames:   []string{push("a/9/o:5"), push("a/0/o:4")},
			statuses: 2, outOfOrder: 1, holds: map[string]int{"a": 4}},
		{name: "no sequence: not checked, but it raises the version and is what the view holds",
			frames:   []string{push("a/2/o:2"), push("a/5/"), push("a/4/o:3"), push("a/6/o:1")},
			statuses: 4, stale: 1, outOfOrder: 1, holds: map[string]int{"a": 1}},
		{name: "an OFFLINE after the last change leaves no final state",
			frames:   []string{push("a/1/o:1"), push("a/2/o:2"), push("a/3/")},
			statuses: 3, holds: map[string]int{"a": 0}},
		{name: "targets are independent",
			frames:   []string{push("a/0/o:5", "b/0/o:1"), push("b/0/o:2"), push("a/0/o:6", "b/0/o:1")},
			statuses: 5, outOfOrder: 1, holds: map[string]int{"a": 6, "b": 1}},
		{name: "statuses of one frame in its order",
			frames:   []string{push("a/1/o:1", "a/3/o:3", "a/2/o:2")},
			statuses: 3, stale: 1, holds: map[string]int{"a": 3}},
		{name: "not sequences: o:0, o:-1, o:x, x:3",
			frames:   []string{push("a/0/o:4"), push("a/0/o:0"), push("a/0/o:-1"), push("a/0/o:x"), push("a/0/x:3"), push("a/0/o:5")},
			statuses: 6, holds: map[string]int{"a": 5}},
		{name: "other frames are ignored",
			frames:   []string{`{"op":"reply","seq":3,"code":0}`, `{"op":"kicked","code":6208,"desc":"x"}`, push("a/0/o:1")},
			statuses: 1, holds: map[string]int{"a": 1}},
		{name: "an unknown key and a huge version",
			frames: []string{`{"op":"status","body":[{"user_status_identifier":"a","x":{"y":[1]},"user_status_version":18446744073709551615,"user_status_custom_status":"o:9"}]}`,
				push("a/18446744073709551614/o:10")},
			statuses: 2, stale: 1, holds: map[string]int{"a": 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := orderView{}
			var got orderCount
			for _, f := range tc.frames {
				got.addUp(v.applyFrame([]byte(f)))
			}
			if got.statuses != tc.statuses || got.outOfOrder != tc.outOfOrder || got.stale != tc.stale {
				t.Errorf("statuses %d, out of order %d, stale %d; want %d, %d, %d",
					got.statuses, got.outOfOrder, got.stale, tc.statuses, tc.outOfOrder, tc.stale)
			}
			if (got.outOfOrder > 0) != (got.example != "") {
				t.Errorf("example %q with %d out of order", got.example, got.outOfOrder)
			}
			for id, want := range tc.holds {
				if h := v.holds(id); h != want {
					t.Errorf("holds %s: o:%d, want o:%d", id, h, want)
				}
			}
		})
	}
}

func TestParseSeq(t *testing.T) {
	for s, want := range map[string]int{"o:1": 1, "o:50": 50, "o:007": 7, "o:0": 0, "o:": 0, "o:+3": 0, "o:3x": 0, "O:3": 0, "": 0, "o:1234567890": 0} {
		n, ok := parseSeq(s)
		if ok != (want > 0) || n != want && ok {
			t.Errorf("parseSeq(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
}

func TestOrderTargets(t *testing.T) {
	ids := []string{"o0", "o1", "o2", "o3", "o4"}
	if got := fmt.Sprint(orderTargets(ids, 3, 4)); got != "[o3 o4 o0 o1]" {
		t.Errorf("orderTargets = %s", got)
	}
	if got := len(orderTargets(ids, 0, 9)); got != 5 {
		t.Errorf("more targets than users: %d", got)
	}
}
