//go:build baddescribe

package main

func describeHook() { panic("describe exploded on purpose") }
