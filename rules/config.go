package rules

// Config says where rule files are: the `rules` section of the configuration.
type Config struct {
	// Paths are files or directories of *.yaml rule files (default ./rules).
	Paths []string `koanf:"paths"`
	// Env lists environment variables that expressions may read as env.NAME. Others are
	// invisible to rules.
	Env []string `koanf:"env"`
}

// DefaultConfig returns the rules defaults.
func DefaultConfig() Config { return Config{Paths: []string{"./rules"}} }
