// Command witness reports what the Go runtime decided inside a container.
//
// It prints six lines, one KEY=VALUE each:
//
//	GOMAXPROCS=<runtime.GOMAXPROCS(0)>
//	MEMLIMIT=<debug.SetMemoryLimit(-1)> (9223372036854775807 when unset)
//	ENV_GOMAXPROCS=<$GOMAXPROCS or empty>
//	ENV_GOMEMLIMIT=<$GOMEMLIMIT or empty>
//	NUMCPU=<runtime.NumCPU()>
//	GOVERSION=<runtime.Version()>
//
// With the arguments "watch SECONDS" it then samples runtime.GOMAXPROCS(0)
// every 100 ms for that long, printing "WATCH GOMAXPROCS=<n> T=<ms>" at the
// start and at each change: Go >= 1.25 re-checks its CPU limit and affinity
// while it runs, older Go and an explicit GOMAXPROCS never change it.
//
// The Go runtime itself is the judge of what the environment did: an invalid
// GOMEMLIMIT makes it crash at start, so a clean run is part of the check.
// The source builds with every Go in tests/gobuild's matrix (1.19 on).
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

func main() {
	fmt.Printf("GOMAXPROCS=%d\n", runtime.GOMAXPROCS(0))
	fmt.Printf("MEMLIMIT=%d\n", debug.SetMemoryLimit(-1))
	fmt.Printf("ENV_GOMAXPROCS=%s\n", os.Getenv("GOMAXPROCS"))
	fmt.Printf("ENV_GOMEMLIMIT=%s\n", os.Getenv("GOMEMLIMIT"))
	fmt.Printf("NUMCPU=%d\n", runtime.NumCPU())
	fmt.Printf("GOVERSION=%s\n", runtime.Version())
	if len(os.Args) == 3 && os.Args[1] == "watch" {
		secs, err := strconv.ParseFloat(os.Args[2], 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "watch: bad SECONDS:", err)
			os.Exit(2)
		}
		watch(time.Duration(secs * float64(time.Second)))
	}
}

func watch(d time.Duration) {
	start := time.Now()
	last := -1
	for {
		n := runtime.GOMAXPROCS(0)
		if n != last {
			fmt.Printf("WATCH GOMAXPROCS=%d T=%d\n", n, time.Since(start).Milliseconds())
			last = n
		}
		if time.Since(start) >= d {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
