//go:build !nomarker && !v2

package main

const abiVersion = 1

//go:wasmexport hub_abi_v1
func hubABIv1() {}
