#!/usr/bin/env python3
# Holds N idle connections (one round trip each) to a fresh echoserver for HOLD seconds and reports the
# server's CPU time (utime+stime from /proc/PID/stat) during the hold and its RSS. Loopback only; Linux.
# Usage: tools/measure-idle-cpu.py PATH/TO/echoserver N HOLD_SECONDS   (raise ulimit -n for large N)
import socket, subprocess, time, os, re, sys
exe = sys.argv[1]; n = int(sys.argv[2]); hold = float(sys.argv[3])
p = subprocess.Popen([exe, "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
try:
    line = p.stdout.readline(); port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
    def cpu():
        f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    def rss():
        return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{p.pid}/status").read()).group(1))
    time.sleep(0.5)
    rss0 = rss()
    conns = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x"); assert s.recv(1) == b"x"; conns.append(s)
    rss1 = rss(); c0 = cpu(); t0 = time.time()
    time.sleep(hold)
    c1 = cpu(); t1 = time.time()
    ok = 0
    for s in conns:
        s.sendall(b"y"); ok += s.recv(1) == b"y"
    print(f"conns={n} hold_s={t1-t0:.1f} server_cpu_s_during_hold={c1-c0:.3f} rss_before_kb={rss0} rss_with_conns_kb={rss1} per_conn_b={(rss1-rss0)*1024/n:.0f} echo_after_hold_ok={ok}")
    for s in conns: s.close()
    p.terminate(); print("exit", p.wait(timeout=10))
finally:
    if p.poll() is None:
        p.kill()
