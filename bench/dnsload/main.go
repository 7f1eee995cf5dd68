// dnsload: a small closed-loop DNS load generator over UDP (Go standard library only) for the DNS
// benchmark of the transparent appliance (bench/l4.ts builds it at run time with GOPROXY=off go
// build, as bench/proxy.ts builds plg). A Node load generator spent more CPU per query than the
// proxy it measured, on the same 2 cores; this one costs a few microseconds per query.
//
// -c workers, each with its own connected UDP socket (its own source port), send one query, wait
// for its answer (matching ID), record the latency, and send the next: -n queries in all. Names:
// -name NAME (the same name every time: the proxy's cached path) or -prefix P (P<i>.<suffix>, a
// new name every query: uncached). A query without an answer within -timeout is counted as lost.
// Prints one JSON line: {"queries","answered","lost","seconds","qps","p50Ms","p99Ms"}.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// query encodes a standard query (RFC 1035 §4.1): RD set, one question, type A, class IN.
func query(buf []byte, id uint16, name string) []byte {
	buf = buf[:0]
	buf = append(buf, byte(id>>8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	for _, label := range strings.Split(name, ".") {
		buf = append(buf, byte(len(label)))
		buf = append(buf, label...)
	}
	return append(buf, 0, 0, 1, 0, 1)
}

func main() {
	server := flag.String("server", "127.0.0.1:53", "DNS server ADDR:PORT")
	total := flag.Int("n", 20000, "queries in all")
	workers := flag.Int("c", 32, "queries in flight (one socket each)")
	name := flag.String("name", "", "ask this name every time (cached)")
	prefix := flag.String("prefix", "", "ask PREFIX<i>.<suffix> (a new name each query)")
	suffix := flag.String("suffix", "bench.test", "suffix of the -prefix names")
	timeout := flag.Duration("timeout", 2*time.Second, "a query without an answer by then is lost")
	flag.Parse()
	if (*name == "") == (*prefix == "") {
		fmt.Fprintln(os.Stderr, "give -name or -prefix")
		os.Exit(2)
	}
	var next int64 = -1
	var lost int64
	lat := make([][]time.Duration, *workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *workers; w++ {
		conn, err := net.Dial("udp", *server)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		wg.Add(1)
		go func(w int, conn net.Conn) {
			defer wg.Done()
			defer conn.Close()
			out := make([]byte, 0, 300)
			in := make([]byte, 4096)
			mine := make([]time.Duration, 0, *total / *workers + 1)
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(*total) {
					break
				}
				q := *name
				if q == "" {
					q = *prefix + strconv.FormatInt(i, 10) + "." + *suffix
				}
				id := uint16(i)
				out = query(out, id, q)
				sent := time.Now()
				if _, err := conn.Write(out); err != nil {
					atomic.AddInt64(&lost, 1)
					continue
				}
				_ = conn.SetReadDeadline(sent.Add(*timeout))
				for {
					n, err := conn.Read(in)
					if err != nil {
						atomic.AddInt64(&lost, 1)
						break
					}
					if n >= 12 && binary.BigEndian.Uint16(in) == id {
						mine = append(mine, time.Since(sent))
						break
					}
				}
			}
			lat[w] = mine
		}(w, conn)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(float64(len(all))*p)].Microseconds()) / 1000
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"queries": *total, "answered": len(all), "lost": lost, "seconds": secs,
		"qps": float64(len(all)) / secs, "p50Ms": pct(0.5), "p99Ms": pct(0.99),
	})
}
