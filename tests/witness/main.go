// Command witness reports what the Go runtime decided inside a container.
//
// It prints exactly five lines, one KEY=VALUE each:
//
//	GOMAXPROCS=<runtime.GOMAXPROCS(0)>
//	MEMLIMIT=<debug.SetMemoryLimit(-1)> (9223372036854775807 when unset)
//	ENV_GOMAXPROCS=<$GOMAXPROCS or empty>
//	ENV_GOMEMLIMIT=<$GOMEMLIMIT or empty>
//	NUMCPU=<runtime.NumCPU()>
//
// The Go runtime itself is the judge of what the environment did: an invalid
// GOMEMLIMIT makes it crash at start, so a clean run is part of the check.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

func main() {
	fmt.Printf("GOMAXPROCS=%d\n", runtime.GOMAXPROCS(0))
	fmt.Printf("MEMLIMIT=%d\n", debug.SetMemoryLimit(-1))
	fmt.Printf("ENV_GOMAXPROCS=%s\n", os.Getenv("GOMAXPROCS"))
	fmt.Printf("ENV_GOMEMLIMIT=%s\n", os.Getenv("GOMEMLIMIT"))
	fmt.Printf("NUMCPU=%d\n", runtime.NumCPU())
}
