//go:build v2

package main

const abiVersion = 2

//go:wasmexport hub_abi_v2
func hubABIv2() {}
