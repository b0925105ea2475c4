package plugin

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
)

func TestLoggerSkipsLevelsTheHostDrops(t *testing.T) {
	tests := []struct {
		hostLevel string
		level     slog.Level
		want      bool
	}{
		{"", slog.LevelDebug, true}, // hosts before log_level keep everything
		{"debug", slog.LevelDebug, true},
		{"info", slog.LevelDebug, false},
		{"info", slog.LevelInfo, true},
		{"warn", slog.LevelInfo, false},
		{"error", slog.LevelWarn, false},
		{"error", slog.LevelError, true},
		{"loud", slog.LevelDebug, true}, // an unknown level keeps everything
	}
	for _, tc := range tests {
		ctx := context.WithValue(context.Background(), callKey{}, &callInfo{req: &abi.InvokeRequest{LogLevel: tc.hostLevel}})
		if got := Logger(ctx).Enabled(ctx, tc.level); got != tc.want {
			t.Errorf("host %q, record %s: enabled %v, want %v", tc.hostLevel, tc.level, got, tc.want)
		}
	}
}
