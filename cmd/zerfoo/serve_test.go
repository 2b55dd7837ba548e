package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// TestServeHelperProcess is `zerfoo serve` when run by startServe; it is
// skipped otherwise.
func TestServeHelperProcess(t *testing.T) {
	if os.Getenv("ZERFOO_SERVE_HELPER") != "1" {
		t.Skip("helper process for the serve tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Args = append([]string{"zerfoo", "serve"}, args...)
	main()
	os.Exit(0)
}

// server is a `zerfoo serve` child process.
type server struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:PORT
	logs chan string
	done chan error
}

var listening = regexp.MustCompile(`msg=listening addr=(http://127\.0\.0\.1:\d+)`)

// startServe writes the tiny model and runs `zerfoo serve` on a free
// loopback port with args, waiting until the model is loaded.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	return startServeModel(t, gemma3test.Options{Seed: 11}, args...)
}

// startServeModel is startServe with the tiny model written with opt.
func startServeModel(t *testing.T, opt gemma3test.Options, args ...string) *server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := gemma3test.Write(path, opt); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--model", path, "--addr", "127.0.0.1:0", "--name", "tiny"}, args...)
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestServeHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "ZERFOO_SERVE_HELPER=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.ENOEXEC) {
			// The test binary of another architecture run through an
			// emulator (go test -exec qemu-aarch64-static) cannot start
			// itself without binfmt_misc.
			t.Skipf("cannot run the test binary as a server process: %v", err)
		}
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: make(chan string, 1024), done: make(chan error, 1)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
			select {
			case s.logs <- line:
			default:
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatal("zerfoo serve did not report its address in 30 s")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("zerfoo serve: /health not 200 after 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			t.Errorf("zerfoo serve after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("zerfoo serve did not exit within 20 s of SIGTERM")
	}
}

// TestServeSIGTERM runs the CLI: a chat request, then SIGTERM while a
// stream is in flight; the stream must finish and the process exit 0.
func TestServeSIGTERM(t *testing.T) {
	s := startServe(t, "--parallel", "1", "--ctx-size", "200", "--shutdown-timeout", "10s")
	body := `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":150,"temperature":0,"stream":true}`
	resp, err := http.Post(s.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first stream line: %q %v", line, err)
	}
	s.stop(t)
	rest, err := io.ReadAll(r)
	if err != nil || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("stream after SIGTERM: got %v and a body ending %q, want it to finish with [DONE]", err, tail(string(rest)))
	}
	var finish string
	for _, l := range strings.Split(string(rest), "\n") {
		var c struct {
			Choices []struct {
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if d, ok := strings.CutPrefix(l, "data: "); ok && json.Unmarshal([]byte(d), &c) == nil {
			for _, ch := range c.Choices {
				if ch.FinishReason != nil {
					finish = *ch.FinishReason
				}
			}
		}
	}
	if finish == "" {
		t.Errorf("stream after SIGTERM has no finish_reason: %q", tail(string(rest)))
	}
}

func tail(s string) string {
	if len(s) > 300 {
		return "…" + s[len(s)-300:]
	}
	return s
}

// TestServeClient runs tools/client/client.mjs (the official openai npm
// client) against `zerfoo serve`.
func TestServeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: skipping the openai npm client test")
	}
	dir, err := filepath.Abs("../../tools/client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		t.Skip("tools/client/node_modules is missing: run `npm ci` in tools/client to enable the openai npm client test")
	}
	// A context of 4096 for the tools' system prompt (the tiny vocabulary
	// spends about 800 tokens on it); 2048 per slot still refuses the
	// client's 4000-word prompt.
	cfg := gemma3test.Config()
	cfg.Context = 4096
	s := startServeModel(t, gemma3test.Options{Config: cfg, Type: quant.Q8_0, Seed: 11},
		"--parallel", "2", "--max-queue", "0", "--ctx-size", "4096", "--api-key", "test-key")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ZERFOO_URL="+s.url+"/v1", "ZERFOO_API_KEY=test-key", "ZERFOO_MODEL=tiny")
	out, err := cmd.CombinedOutput()
	t.Logf("client.mjs:\n%s", out)
	if err != nil {
		t.Errorf("client.mjs: %v", err)
	}
	s.stop(t)
}

// TestServeFlags checks the request-shaping flags: bad values are usage
// errors, good ones reach the server (/props, the CORS headers).
func TestServeFlags(t *testing.T) {
	model := builtin(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--max-tokens", "0"}, "--max-tokens 0: must be -1 (no cap) or ≥ 1"},
		{[]string{"--max-tokens", "-2"}, "--max-tokens -2"},
		{[]string{"--cors-origin", "app.example"}, "--cors-origin app.example: must be * or an origin"},
	} {
		code, out, errs := zerfoo(t, context.Background(), "", append([]string{"serve", "--model", model}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.msg) {
			t.Errorf("zerfoo serve %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.msg)
		}
	}

	s := startServe(t, "--max-tokens", "3", "--no-parse-special", "--cors-origin", "https://a.example", "--cors-origin", "https://b.example")
	defer s.stop(t)
	resp, err := http.Get(s.url + "/props")
	if err != nil {
		t.Fatal(err)
	}
	var props struct {
		DGS struct {
			Params struct {
				MaxTokens    int  `json:"max_tokens"`
				ParseSpecial bool `json:"parse_special"`
			} `json:"params"`
		} `json:"default_generation_settings"`
		ModelPath string   `json:"model_path"`
		Origins   []string `json:"cors_allowed_origins"`
	}
	err = json.NewDecoder(resp.Body).Decode(&props)
	resp.Body.Close()
	if err != nil || props.DGS.Params.MaxTokens != 3 || props.DGS.Params.ParseSpecial || !strings.HasSuffix(props.ModelPath, "tiny.gguf") || len(props.Origins) != 2 {
		t.Errorf("/props: got %+v (%v), want max_tokens 3, parse_special false, the model path and 2 origins", props, err)
	}
	req, _ := http.NewRequest("OPTIONS", s.url+"/v1/chat/completions", nil)
	req.Header.Set("Origin", "https://b.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://b.example" {
		t.Errorf("preflight: got %d, Allow-Origin %q; want 204 for https://b.example", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
