// Package config loads aquahub's configuration: one YAML file, overridden by AQUAHUB_*
// environment variables and then by flags. `${VAR}` inside values reads the environment so
// secrets stay out of files. Decoding is strict: an unknown key is an error naming its path,
// and Validate names the path and the value of anything out of range.
//
// The doc comment of each field below is the configuration reference.
package config
