package httpapi

import "testing"

func TestFromLoopback(t *testing.T) {
	tests := []struct {
		remote string
		want   bool
	}{
		{"127.0.0.1:4000", true}, {"[::1]:4000", true}, {"127.8.9.1:1", true},
		{"203.0.113.9:4000", false}, {"10.0.0.1:80", false}, {"[::ffff:203.0.113.9]:1", false},
		{"0.0.0.0:0", false}, {"garbage", false}, {"", false},
	}
	for _, tc := range tests {
		if got := fromLoopback(tc.remote); got != tc.want {
			t.Errorf("fromLoopback(%q) = %v, want %v", tc.remote, got, tc.want)
		}
	}
}
