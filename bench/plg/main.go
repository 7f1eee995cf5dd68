// plg: a tiny HTTP/1.1 load generator for proxy benchmarks (Go standard library only), from
// shared/reference/bench-baselines.md Appendix A. bench/proxy.ts builds it at run time
// (GOPROXY=off go build) and drives every target with the same binary and flags.
//
// Each worker owns one connection (its own http.Transport: no shared pool, no dial races), an
// optional CONNECT proxy, keep-alive on or off; latency is end to end, dial, CONNECT and TLS
// handshake included. Besides the measured window it counts everything done while it ran
// (warm-up and the tail included: total_*), so that a proxy's CPU time sampled around the whole
// process can be divided by all the work it did.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"
)

type res struct {
	lat                                  []time.Duration
	bytes, errs, newConns                int64
	totalReqs, totalBytes, totalNewConns int64
}

func main() {
	target := flag.String("url", "", "target URL")
	proxy := flag.String("proxy", "", "explicit proxy URL, e.g. http://127.0.0.1:3128 (CONNECT for https)")
	sni := flag.String("sni", "", "TLS server name (default: URL hostname)")
	c := flag.Int("c", 32, "concurrent workers (one connection each)")
	d := flag.Duration("d", 10*time.Second, "measured duration")
	warm := flag.Duration("warmup", 1*time.Second, "warm-up (not measured)")
	ka := flag.Bool("keepalive", true, "reuse connections")
	label := flag.String("label", "", "label copied into JSON")
	rate := flag.Float64("rate", 0, "requests per second over all workers, evenly paced (0: each worker as fast as it goes)")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || *target == "" {
		fmt.Fprintln(os.Stderr, "need -url")
		os.Exit(2)
	}
	name := *sni
	if name == "" {
		name = u.Hostname()
	}
	var px func(*http.Request) (*url.URL, error)
	if *proxy != "" {
		pu, err := url.Parse(*proxy)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad -proxy")
			os.Exit(2)
		}
		px = http.ProxyURL(pu)
	}
	start := time.Now()
	measureFrom := start.Add(*warm)
	end := measureFrom.Add(*d)
	out := make([]res, *c)
	// Paced: each worker starts a request every c/rate seconds, the workers spread evenly over
	// that interval; a worker that falls behind starts its next request at once but does not
	// burst to catch up (the offered rate is then lower, and the JSON's rps says so).
	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(*c) / *rate * float64(time.Second))
	}
	var wg sync.WaitGroup
	for i := 0; i < *c; i++ {
		wg.Add(1)
		next := start.Add(interval * time.Duration(i) / time.Duration(*c))
		go func(r *res) {
			defer wg.Done()
			tr := &http.Transport{Proxy: px, DisableKeepAlives: !*ka, DisableCompression: true,
				MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1,
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: name},
				TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}}
			cl := &http.Client{Transport: tr}
			newc := false
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { newc = !i.Reused }}
			for {
				if interval > 0 {
					if w := time.Until(next); w > 0 {
						time.Sleep(w)
					}
					next = next.Add(interval)
					if now := time.Now(); next.Before(now) {
						next = now
					}
				}
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				req, _ := http.NewRequest("GET", *target, nil)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
				newc = false
				resp, err := cl.Do(req)
				var n int64
				if err == nil {
					n, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				t1 := time.Now()
				if newc {
					r.totalNewConns++
				}
				r.totalBytes += n
				if err == nil {
					r.totalReqs++
				}
				if t0.Before(measureFrom) || t1.After(end) {
					continue
				}
				if err != nil {
					r.errs++
					if r.errs < 3 {
						fmt.Fprintln(os.Stderr, "err:", err)
					}
					continue
				}
				r.lat = append(r.lat, t1.Sub(t0))
				r.bytes += n
				if newc {
					r.newConns++
				}
			}
			tr.CloseIdleConnections()
		}(&out[i])
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	var all []time.Duration
	var bytes, errs, nc, treq, tbytes, tnc int64
	for _, r := range out {
		all = append(all, r.lat...)
		bytes += r.bytes
		errs += r.errs
		nc += r.newConns
		treq += r.totalReqs
		tbytes += r.totalBytes
		tnc += r.totalNewConns
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	secs := d.Seconds()
	o := map[string]any{"label": *label, "requests": len(all), "errors": errs, "new_conns": nc,
		"rps": float64(len(all)) / secs, "mib_s": float64(bytes) / secs / 1048576,
		"p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1),
		"total_requests": treq, "total_bytes": tbytes, "total_new_conns": tnc, "wall_s": wall}
	j, _ := json.Marshal(o)
	fmt.Println(string(j))
}
