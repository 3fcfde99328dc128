package presence

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/imstatus/imstatus/wire"
)

func TestDerive(t *testing.T) {
	live := func(conn uint64, p string) DeviceRecord {
		return DeviceRecord{Slot: p, Key: DeviceKey{"n", conn}, Platform: p, State: wire.StatusOnline}
	}
	gone := func(p string, st wire.StatusType) DeviceRecord { return DeviceRecord{Slot: p, Platform: p, State: st} }
	cases := []struct {
		recs    []DeviceRecord
		want    wire.StatusType
		devices []string
		custom  string
	}{
		{nil, wire.StatusUnlogined, nil, ""},
		{[]DeviceRecord{live(1, "Web"), live(2, "Mac")}, wire.StatusOnline, []string{"Web", "Mac"}, "c"},
		{[]DeviceRecord{live(1, "Web"), gone("Mac", wire.StatusOffline)}, wire.StatusOnline, []string{"Web"}, "c"},
		{[]DeviceRecord{gone("Mac", wire.StatusUnlogined), gone("Web", wire.StatusOffline)}, wire.StatusOffline, nil, ""},
		{[]DeviceRecord{gone("Mac", wire.StatusUnlogined)}, wire.StatusUnlogined, nil, ""},
	}
	for i, c := range cases {
		got := Derive("u", c.recs, "c")
		if got.Type != c.want || !slices.Equal(got.Devices, c.devices) || got.Custom != c.custom {
			t.Errorf("case %d: %+v, want %v %v %q", i, got, c.want, c.devices, c.custom)
		}
	}
}

// Records of devices that went away are bounded; live ones are never dropped.
func TestLoginBoundsRecords(t *testing.T) {
	var recs []DeviceRecord
	for i := range uint64(100) {
		d := Device{Key: DeviceKey{"n", i + 1}, Platform: "Web", DeviceID: strconv.FormatUint(i, 10)}
		recs, _ = Login(recs, d, Unlimited)
		if i%2 == 0 {
			recs, _ = Depart(recs, d.Key, Lost)
		}
	}
	if len(recs) > MaxDeviceRecords+50 {
		t.Fatalf("%d records", len(recs))
	}
	liveN := 0
	for _, r := range recs {
		if r.Live() {
			liveN++
		}
	}
	if liveN != 50 {
		t.Fatalf("%d live records, want the 50 live devices", liveN)
	}
	for len(recs) > 0 && recs[0].Live() {
		recs, _ = Depart(recs, recs[0].Key, LoggedOut)
	}
	recs, _ = Login(recs, Device{Key: DeviceKey{"n", 999}, Platform: "Mac"}, Unlimited)
	if len(recs) > MaxDeviceRecords {
		t.Fatalf("%d records once all went away, want at most %d", len(recs), MaxDeviceRecords)
	}
}

// A login applied again (a store's write sent twice) changes nothing and
// kicks nobody, under every policy: the device does not replace itself.
func TestLoginAppliedTwiceKicksNothing(t *testing.T) {
	for _, p := range []Policy{PerPlatform, Single, Unlimited} {
		other := Device{Key: DeviceKey{"n", 1}, Platform: "Mac"}
		d := Device{Key: DeviceKey{"n", 2}, Platform: "Web", DeviceID: "w"}
		recs, _ := Login(nil, other, p)
		recs, _ = Login(recs, d, p)
		once := slices.Clone(recs)
		again, kicked := Login(recs, d, p)
		if len(kicked) != 0 || !slices.Equal(again, once) {
			t.Errorf("policy %d: applied again kicked %v, records %v, want none and %v", p, kicked, again, once)
		}
	}
}

func TestNextVersion(t *testing.T) {
	now := time.Unix(1800000000, 0)
	us := uint64(now.UnixMicro())
	for _, c := range []struct{ prev, want uint64 }{
		{0, us}, {us - 5, us}, {us, us + 1}, {us + 100, us + 101},
	} {
		if got := NextVersion(c.prev, now); got != c.want {
			t.Errorf("NextVersion(%d) = %d, want %d", c.prev, got, c.want)
		}
	}
	if got := NextVersion(7, time.Unix(0, 0)); got != 8 {
		t.Errorf("a clock at 1970: %d, want 8", got)
	}
}

func TestSettle(t *testing.T) {
	now := time.Unix(1800000000, 0)
	before := wire.Status{UserID: "u", Type: wire.StatusOnline, Devices: []string{"Web"}, Custom: "c", Version: 5}
	c, custom := Settle(before, "u", nil, "c", now)
	if c.After.Type != wire.StatusUnlogined || custom != "" || c.After.Custom != "" || c.After.Version <= 5 {
		t.Fatalf("going away: %+v, custom kept %q", c, custom)
	}
	recs := []DeviceRecord{{Slot: "Web", Key: DeviceKey{"n", 1}, Platform: "Web", State: wire.StatusOnline}}
	c, custom = Settle(before, "u", recs, "c", now)
	if c.Changed() || c.After.Version != 5 || custom != "c" {
		t.Fatalf("no change: %+v", c)
	}
}

func TestParsePolicy(t *testing.T) {
	for s, want := range map[string]Policy{"per_platform": PerPlatform, "single": Single, "unlimited": Unlimited} {
		if got, err := ParsePolicy(s); err != nil || got != want {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	if _, err := ParsePolicy("many"); err == nil {
		t.Error("unknown policy accepted")
	}
}
