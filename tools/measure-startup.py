#!/usr/bin/env python3
# Starts each given echoserver 7 times on 127.0.0.1:0 and reports the median time to its first stdout
# line ("listening on ...") and its idle RSS one second later. Linux (/proc).
# Usage: tools/measure-startup.py PATH/TO/echoserver [MORE ...]
import subprocess, time, sys, re, statistics, os
def one(exe):
    t0 = time.perf_counter()
    p = subprocess.Popen([exe, "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline(); t1 = time.perf_counter()
        time.sleep(1.0)
        rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{p.pid}/status").read()).group(1))
        p.terminate(); p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    return (t1 - t0) * 1000, rss
for exe in sys.argv[1:]:
    runs = [one(exe) for _ in range(7)]
    print(f"{exe}: start-to-listening median {statistics.median(r[0] for r in runs):.0f} ms (min {min(r[0] for r in runs):.0f}), idle RSS median {statistics.median(r[1] for r in runs)/1024:.1f} MiB")
