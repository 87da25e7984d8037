// Command httpalloc is a small HTTP service: each request builds short-lived
// objects (a slice of -records records with strings, a map indexing them)
// and writes a ~1 KiB answer, so it allocates on every request and the
// garbage collector runs often under load. The work per request is large
// enough that the server, not the load generator beside it on the same
// CPUs, is what needs the CPU. It prints what the runtime saw at start, then
// serves until killed; /gomaxprocs answers runtime.GOMAXPROCS(0) as it is
// now (Go >= 1.25 changes it when the CPU limit changes).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
	"strconv"
)

type record struct {
	id    int
	name  string
	tags  []string
	score float64
}

var records = 256

func handler(w http.ResponseWriter, r *http.Request) {
	seed := len(r.URL.Path) + int(r.ContentLength)
	recs := make([]*record, records)
	index := make(map[string]*record, len(recs))
	for i := range recs {
		name := "item-" + strconv.Itoa(seed*31+i)
		recs[i] = &record{id: i, name: name, tags: []string{name[:4], name[5:]}, score: float64(i) / 3}
		index[name] = recs[i]
	}
	buf := make([]byte, 0, 1200)
	sum := 0.0
	for i, rc := range recs {
		if index[rc.name] != rc {
			http.Error(w, "lost a record", http.StatusInternalServerError)
			return
		}
		sum += rc.score
		if i < 32 {
			buf = append(buf, rc.name...)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, rc.score, 'f', 3, 64)
			buf = append(buf, '\n')
		}
	}
	buf = strconv.AppendFloat(append(buf, "sum "...), sum, 'f', 3, 64)
	w.Header().Set("Content-Type", "text/plain")
	w.Write(append(buf, '\n'))
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	flag.IntVar(&records, "records", records, "records built per request (the work per request)")
	flag.Parse()
	fmt.Printf("GOMAXPROCS=%d NUMCPU=%d ENV_GOMAXPROCS=%s\n",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), os.Getenv("GOMAXPROCS"))
	os.Stdout.Sync()
	http.HandleFunc("/gomaxprocs", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", runtime.GOMAXPROCS(0))
	})
	http.HandleFunc("/", handler)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
