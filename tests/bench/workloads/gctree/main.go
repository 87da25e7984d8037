// Command gctree is a GC-heavy parallel job with a fixed amount of work:
// goroutines build binary trees of small pointer-linked nodes, walk them and
// drop them, while one long-lived tree keeps the collector's mark phase busy
// (the binary-trees shape). It prints what the runtime saw at start and the
// elapsed time of the work, so the number of threads Go runs (GOMAXPROCS)
// against a CPU quota is the only thing that differs between runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

type node struct {
	left, right *node
	val         int
}

func build(depth, v int) *node {
	n := &node{val: v}
	if depth > 0 {
		n.left = build(depth-1, 2*v)
		n.right = build(depth-1, 2*v+1)
	}
	return n
}

func (n *node) check() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

func main() {
	trees := flag.Int("trees", 400, "short-lived trees to build, in total")
	depth := flag.Int("depth", 14, "depth of each short-lived tree")
	liveDepth := flag.Int("live-depth", 18, "depth of the tree kept alive throughout")
	workers := flag.Int("workers", 8, "goroutines sharing the work")
	flag.Parse()
	fmt.Printf("GOMAXPROCS=%d NUMCPU=%d ENV_GOMAXPROCS=%s\n",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), os.Getenv("GOMAXPROCS"))

	start := time.Now()
	live := build(*liveDepth, 1)
	var next, nodes int64
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i > int64(*trees) {
					return
				}
				atomic.AddInt64(&nodes, int64(build(*depth, int(i)).check()))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("nodes=%d live=%d gc=%d\n", nodes, live.check(), ms.NumGC)
	fmt.Printf("elapsed=%.3f\n", elapsed.Seconds())
}
