package workload

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Tick is how often the workload adjusts the memory it holds, and the window in which it
// burns its CPU share.
const Tick = 50 * time.Millisecond

// chunk is the unit in which memory is held.
const chunk = 1 << 20

// Ready reports whether a probe of the kind (PathStartup, PathReadiness or PathLiveness)
// succeeds elapsed after the start, as the simulated runtime answers it.
func (s Spec) Ready(path string, elapsed time.Duration) bool {
	ready := elapsed >= s.ReadyAfter
	switch path {
	case PathStartup:
		return ready
	case PathReadiness:
		return ready && (s.ReadinessFailsAfter <= 0 || elapsed < s.ReadinessFailsAfter)
	case PathLiveness:
		return s.LivenessFailsAfter <= 0 || elapsed < s.LivenessFailsAfter
	}
	return false
}

// Process is a running workload.
type Process struct {
	spec  Spec
	start time.Time
	exit  func(code int)
	mu    sync.Mutex
	held  [][]byte
	base  int64 // the footprint before holding anything
}

// Run starts the workload's parts (exit timer, SIGTERM handling, probe server, memory
// holder, CPU burners) and returns; exit ends the process (os.Exit in the binary).
func Run(spec Spec, exit func(code int)) (*Process, error) {
	p := &Process{spec: spec, start: time.Now(), exit: exit, base: rss()}
	if spec.Listen != "" {
		ln, err := net.Listen("tcp", spec.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", spec.Listen, err)
		}
		go func() { _ = http.Serve(ln, p) }()
	}
	if spec.ExitAfter > 0 {
		time.AfterFunc(spec.ExitAfter, func() { exit(spec.ExitCode) })
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		if spec.IgnoreSIGTERM {
			return
		}
		time.AfterFunc(spec.SIGTERMAfter, func() { exit(0) })
	}()
	if len(spec.Memory.Points) > 0 {
		go p.holdMemory()
	}
	if n := workers(spec.CPU.Max()); n > 0 {
		for i := range n {
			go p.burn(i, n)
		}
	}
	return p, nil
}

// ServeHTTP answers probes from the spec and crashes on PathCrash.
func (p *Process) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == PathCrash {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			http.Error(w, "code: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go p.exit(code)
		return
	}
	if p.spec.Ready(r.URL.Path, time.Since(p.start)) {
		fmt.Fprintln(w, "ok")
		return
	}
	http.Error(w, "failing", http.StatusServiceUnavailable)
}

// holdMemory keeps the footprint at the memory curve: it allocates and touches chunks up
// to the curve's value (less the footprint it started with) and frees them as it falls.
func (p *Process) holdMemory() {
	for {
		target := (p.spec.Memory.At(time.Since(p.start)) - p.base) / chunk
		p.mu.Lock()
		freed := false
		for int64(len(p.held)) < target {
			b := make([]byte, chunk)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			p.held = append(p.held, b)
		}
		for int64(len(p.held)) > max(target, 0) {
			p.held[len(p.held)-1] = nil
			p.held = p.held[:len(p.held)-1]
			freed = true
		}
		p.mu.Unlock()
		if freed {
			debug.FreeOSMemory()
		}
		time.Sleep(Tick)
	}
}

// workers is how many goroutines burn CPU for a curve peaking at peak millicores.
func workers(peak int64) int {
	if peak <= 0 {
		return 0
	}
	return min(int((peak+999)/1000), runtime.NumCPU())
}

// burn is burner i of n: in every Tick it spins for its share of the curve's value.
func (p *Process) burn(i, n int) {
	for {
		window := time.Now()
		share := p.spec.CPU.At(window.Sub(p.start)) / int64(n)
		if i < int(p.spec.CPU.At(window.Sub(p.start))%int64(n)) {
			share++
		}
		spin := time.Duration(min(share, 1000)) * Tick / 1000
		for time.Since(window) < spin {
		}
		time.Sleep(Tick - time.Since(window))
	}
}

// rss returns the process's resident set in bytes (0 when unknown).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * int64(os.Getpagesize())
}
