#!/usr/bin/env python3
# Replaces a running echoserver with a new process while clients connect in a tight loop, without socket
# activation, and counts what the clients saw. For contrast with the socket-activated restart that
# tests/EchoServer.Tests/Systemd/RestartTests.cs drives (no refusal, no reset):
#   stop-start  SIGTERM the old server, wait for its exit, start the new one (the port is closed in between)
#   reuseport   start the new one beside the old (--reactors 2 sets SO_REUSEPORT), then SIGTERM the old:
#               connections still queued on the old listeners are reset (unless net.ipv4.tcp_migrate_req=1)
# Usage: tools/measure-restart.py PATH/TO/echoserver stop-start|reuseport [CLIENTS] [PORT]
# PORT should lie outside net.ipv4.ip_local_port_range, or a client may connect to itself and hold it.
import os, signal, socket, subprocess, sys, threading, time
exe, mode = sys.argv[1], sys.argv[2]
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 4
port = int(sys.argv[4]) if len(sys.argv) > 4 else 20000 + os.getpid() % 5000
counts = dict(attempted=0, refused=0, reset=0, closed_early=0, other=0, verified=0)
lock, stopping = threading.Lock(), threading.Event()
def count(key):
    with lock:
        counts[key] += 1
def client(n):
    i = 0
    while not stopping.is_set():
        count("attempted"); message = f"client {n} message {i}\n".encode(); i += 1
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(message); got = b""
                while len(got) < len(message):
                    data = s.recv(256)
                    if not data:
                        raise EOFError
                    got += data
            count("verified" if got == message else "other")
        except ConnectionRefusedError: count("refused")
        except ConnectionResetError: count("reset")
        except EOFError: count("closed_early")
        except OSError: count("other")
def start():
    extra = ["--reactors", "2"] if mode == "reuseport" else []
    p = subprocess.Popen([exe, "--bind", f"127.0.0.1:{port}", *extra], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        if "listening on" in line:
            break
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
    return p
old = start()
threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
try:
    for t in threads: t.start()
    time.sleep(1.0)
    if mode == "stop-start":
        old.send_signal(signal.SIGTERM); old.wait(timeout=30); new = start()
    else:
        new = start(); old.send_signal(signal.SIGTERM); old.wait(timeout=30)
    time.sleep(1.0)
finally:
    stopping.set()
    for t in threads: t.join(timeout=60)
    for p in (old, locals().get("new")):
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM); p.wait(timeout=30)
print(f"{mode}, {clients} clients: " + " ".join(f"{k}={v}" for k, v in counts.items()))
