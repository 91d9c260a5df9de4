// Command pprofserve is a small Go service with net/http/pprof and a heap of
// known contents, to check what goheap reads from a running program's
// /debug/pprof/heap (goheap analyze URL, --base) against the runtime that
// serves it.
//
//	pprofserve [-count 1000]
//
// MemProfileRate is 1 from the main package's initialisation on (as in
// pprofheap), so every allocation of the sites below is in the profile,
// unscaled. Each site is its own //go:noinline function allocating exactly
// one pointer-free object per call, so the profile's leaf frame names it:
//
//	main.retain256    []byte of 256 B    count objects, kept from the start
//	main.retain4096   []byte of 4096 B   count/10 objects, kept from the start
//	main.grow1024     []byte of 1024 B   n more objects per GET /grow?n=N, kept
//
// GET /drop?n=N lets the first N still-kept objects of main.retain256 go.
// /grow and /drop end with two runtime.GC() (the profile's in-use figures
// are those of the last completed cycle; the first publishes every
// allocation made before it) and answer with the counts now kept:
//
//	{"main.retain256": {"count", "size"}, "main.retain4096": ..., "main.grow1024": ...}
//
// It listens on 127.0.0.1 at a port the system picks and prints one JSON
// line on stdout, {"port": N, "sites": {...as above}}, once it is ready.
// Errors: one line on stderr, exit status 2. It serves until killed.
package main

import (
	"encoding/json"
	"flag"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"sync"

	"goheap/oracle/internal/report"
)

// Set before any other initializer of this package and before main.
var _ = setRate()

func setRate() int {
	runtime.MemProfileRate = 1
	return 1
}

var count = flag.Int("count", 1000, "objects kept at main.retain256 (count/10 at main.retain4096)")

//go:noinline
func retain256() []byte { return make([]byte, 256) }

//go:noinline
func retain4096() []byte { return make([]byte, 4096) }

//go:noinline
func grow1024() []byte { return make([]byte, 1024) }

type site struct {
	Count int `json:"count"`
	Size  int `json:"size"`
}

var (
	mu       sync.Mutex
	kept256  [][]byte
	dropped  int // kept256[:dropped] are nil
	kept4096 [][]byte
	grown    [][]byte
)

// sites says what is kept now; mu must be held.
func sites() map[string]site {
	return map[string]site{
		"main.retain256":  {len(kept256) - dropped, 256},
		"main.retain4096": {len(kept4096), 4096},
		"main.grow1024":   {len(grown), 1024},
	}
}

func number(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.FormValue("n"))
	if err != nil || n < 0 {
		http.Error(w, "want n=N, N >= 0", http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

func answer(w http.ResponseWriter) {
	runtime.GC()
	runtime.GC()
	b, _ := json.Marshal(sites())
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

func grow(w http.ResponseWriter, r *http.Request) {
	n, ok := number(w, r)
	if !ok {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < n; i++ {
		grown = append(grown, grow1024())
	}
	answer(w)
}

func drop(w http.ResponseWriter, r *http.Request) {
	n, ok := number(w, r)
	if !ok {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < n && dropped < len(kept256); i++ {
		kept256[dropped] = nil
		dropped++
	}
	answer(w)
}

func main() {
	flag.Parse()
	n := *count
	if n < 0 {
		report.Fail("need -count >= 0")
	}
	kept256 = make([][]byte, n)
	kept4096 = make([][]byte, n/10)
	for i := range kept256 {
		kept256[i] = retain256()
	}
	for i := range kept4096 {
		kept4096[i] = retain4096()
	}
	runtime.GC()
	runtime.GC()

	http.HandleFunc("/grow", grow)
	http.HandleFunc("/drop", drop)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		report.Fail("%v", err)
	}
	mu.Lock()
	b, err := json.Marshal(map[string]any{"port": ln.Addr().(*net.TCPAddr).Port, "sites": sites()})
	mu.Unlock()
	if err != nil {
		report.Fail("encoding the report: %v", err)
	}
	os.Stdout.Write(append(b, '\n'))
	if err := http.Serve(ln, nil); err != nil {
		report.Fail("%v", err)
	}
}
