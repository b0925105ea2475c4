// Package config loads a configuration struct from one YAML file, overridden by AQUAHUB_*
// environment variables and then by flags. `${VAR}` inside values reads the environment so
// secrets stay out of files. Decoding is strict: an unknown key is an error naming its path.
// Validation walks the struct: every section with a Validate method checks itself and names
// fields relative to itself, and the loader prefixes the section's path, so an error reads
// `server.addr: must be host:port (got "nowhere")` however deep the section sits.
//
// The package knows no section: each feature module owns its Config type, with a doc
// comment on every field stating its default, and the hub composes them.
package config
