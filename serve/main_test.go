package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// tiny is the random-weight tiny Gemma 3 (context 256) shared by the tests.
var tiny *generate.Model

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "serve-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	path := filepath.Join(dir, "tiny.gguf")
	if err := gemma3test.Write(path, gemma3test.Options{Seed: 7}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if tiny, err = generate.Load(context.Background(), path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	tiny.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// quiet discards the request logs unless -v.
func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// start serves the tiny model with opt on an httptest server.
func start(t *testing.T, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	if opt.ModelName == "" {
		opt.ModelName = "tiny"
	}
	opt.Logger = quiet()
	s := New(opt)
	s.SetModel(tiny)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// post sends body (a string or a value to marshal) and returns the status,
// headers and body.
func post(t *testing.T, ctx context.Context, url string, body any, header ...string) (int, http.Header, []byte) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, out
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// events splits an SSE body into its data payloads.
func events(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("SSE line %q lacks \"data: \"", line)
		}
		out = append(out, d)
	}
	return out
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reference generates with the generate package directly: the independent
// answer the server must reproduce.
func reference(t *testing.T, ids []int32, opt generate.Options) generate.Result {
	t.Helper()
	res, err := tiny.RunTokens(context.Background(), ids, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// asJSON returns s as it reads after a JSON round trip: each invalid UTF-8
// byte (random weights produce byte tokens) becomes U+FFFD.
func asJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}
