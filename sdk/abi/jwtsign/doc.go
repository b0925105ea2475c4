// Package jwtsign is the host side of the hub ABI's sign_jwt import (revision 1.3): it
// signs a connector's JWT claims with a tenant's private key, so that connectors can use
// service-account and JWT-bearer authentication without the key ever entering the guest.
//
// A key is a secret the connector's manifest declares with use "sign". Its value may be a
// PEM private key (PKCS#1 or PKCS#8 RSA, PKCS#8 or SEC1 EC P-256) or a Google
// service-account JSON key file, whose private_key signs and whose private_key_id becomes
// the header's kid. RS256 needs an RSA key of at least 2048 bits, ES256 a P-256 key.
// Parsed keys are cached per (tenant, connector, secret) and never leave the package;
// error messages never carry key material.
//
// Both the wasm host (package plugins) and the native test harness (sdk/plugin/plugintest)
// use it, so a connector signs the same way in unit tests and in production. Standard
// library only.
package jwtsign
