// Package simtest holds what the simulators' and connectors' tests share: serving a
// simulator at a fixed clock (Start, Serve), a fault aimed at one request (FailNth),
// sending a request and reading the answer the way a vendor client would, and running a
// vendor's own Node client against a simulator (NodeModules installs its pinned packages
// once, RunNode runs a script).
package simtest

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Response is a simulator's answer: status, headers, the body raw and, when it is a JSON
// object, decoded into Body or, when it is an array of objects (a vendor's list), into List.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	List   []map[string]any
	Raw    string
}

// Do sends req with client and reads the whole answer; a transport error fails the test.
func Do(tb testing.TB, client *http.Client, req *http.Request) Response {
	tb.Helper()
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := Response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	_ = json.Unmarshal(raw, &r.List)
	return r
}
