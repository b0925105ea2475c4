// Package rules loads aquahub rule files: YAML documents that say which events trigger
// which steps. Conditions (`when`, `if`) and every `${{ }}` interpolation are expr-lang
// programs compiled once at load time against a typed environment (event, steps, tenant,
// env), so a rule that does not compile is reported with file, line, column and path
// before the hub starts. A loaded Set implements core.Rules.
package rules
