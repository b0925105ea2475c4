package core_test

import (
	"testing"

	"github.com/aquascene/aquahub/core"
)

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{{in: "1MiB", want: 1 << 20}, {in: "512KB", want: 512000}, {in: "1048576", want: 1 << 20}, {in: "2 GiB", want: 2 << 30},
		{in: "lots", bad: true}, {in: "-1", bad: true}, {in: "99999999999999999999GiB", bad: true}}
	for _, tc := range tests {
		var b core.ByteSize
		err := b.UnmarshalText([]byte(tc.in))
		if tc.bad != (err != nil) || !tc.bad && int64(b) != tc.want {
			t.Errorf("%s: got %d %v", tc.in, b, err)
		}
	}
}
