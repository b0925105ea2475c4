package core

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ByteSize is a size in configuration: 1MiB, 512KB or a number of bytes.
type ByteSize int64

var sizeRE = regexp.MustCompile(`^(\d+)\s*([KMG]i?B|B)?$`)

var sizeUnits = map[string]int64{"": 1, "B": 1, "KB": 1000, "MB": 1000 * 1000, "GB": 1000 * 1000 * 1000, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(string(text)))
	if m == nil {
		return fmt.Errorf("invalid size %q (want e.g. 1MiB, 512KB or a number of bytes)", text)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > (1<<62)/sizeUnits[m[2]] {
		return fmt.Errorf("invalid size %q: too large", text)
	}
	*b = ByteSize(n * sizeUnits[m[2]])
	return nil
}
