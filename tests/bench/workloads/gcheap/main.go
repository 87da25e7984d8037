// Command gcheap keeps a live heap of a given size and churns garbage on
// top of it, the shape of a cache-heavy service. Under a memory limit, the
// default GC (GOGC=100) lets the heap grow to about twice the live data;
// with GOMEMLIMIT it collects earlier instead of being OOM-killed.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var sink [][]byte

func main() {
	liveMiB := flag.Int("live", 80, "live heap to keep, MiB")
	churnMiB := flag.Int("churn", 2000, "garbage to allocate in total, MiB")
	flag.Parse()
	start := time.Now()
	live := make([][]byte, 0, *liveMiB*16)
	for i := 0; i < *liveMiB*16; i++ {
		b := make([]byte, 64<<10)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		live = append(live, b)
	}
	// Churn: short-lived 1 MiB buffers, a few kept briefly.
	ring := make([][]byte, 8)
	for i := 0; i < *churnMiB; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		ring[i%len(ring)] = b
	}
	sink = live
	fmt.Printf("done live=%dMiB churn=%dMiB in %.3fs\n", *liveMiB, *churnMiB, time.Since(start).Seconds())
	os.Exit(0)
}
