package serve_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/serve"
)

// Mount the OpenAI API on a program's own mux, load the model while
// already answering (503 until then), and drain on SIGTERM.
func Example() {
	s := serve.New(serve.Options{ModelName: "gemma-3-270m-it", Parallel: 2, MaxQueue: 8, CtxSize: 4096})
	mux := http.NewServeMux()
	mux.Handle("/", s)
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi\n")) })
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
	go srv.ListenAndServe()

	m, err := generate.Load(context.Background(), "gemma-3-270m-it-Q4_0.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s.SetModel(m)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(drain) // finish or cancel the generations
	srv.Shutdown(drain)
}
