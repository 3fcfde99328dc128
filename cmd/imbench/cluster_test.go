package main

import "testing"

func TestCommandStats(t *testing.T) {
	before := parseCommandStats("# Commandstats\r\ncmdstat_get:calls=10,usec=50,usec_per_call=5.00\r\ncmdstat_info:calls=3,usec=1\r\n")
	after := parseCommandStats("# Commandstats\r\ncmdstat_get:calls=25,usec=90\r\ncmdstat_spublish:calls=7,usec=20\r\ncmdstat_info:calls=9,usec=1\r\ncmdstat_ping:calls=0,usec=0\r\nnot_a_stat\r\n")
	if before["get"] != 10 || after["spublish"] != 7 || len(after) != 4 {
		t.Fatalf("parsed %v and %v", before, after)
	}
	total, top := commandDelta(before, after)
	if total != 22 || top != "GET 15, SPUBLISH 7" {
		t.Fatalf("delta %d %q, want 22 \"GET 15, SPUBLISH 7\" (INFO left out)", total, top)
	}
}
