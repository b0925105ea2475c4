//go:build nomarker

package main

const abiVersion = 1
