#!/usr/bin/env python3
# What a running echoserver holds for clients that send and do not read: N clients each send up to PER bytes,
# non-blocking, until the kernel stops taking them; then the server's RSS growth and the bytes in its pipes
# (FIONREAD on each pipe, reopened through /proc/PID/fd). Then one client echoes 1 MiB (is it served?), and all
# read back. Linux (/proc). ADDR: a unix socket path (clients with a 64 KiB send buffer) or host:port (TCP,
# clients with a 4 KiB receive buffer).
# Usage: tools/measure-budget.py PID ADDR N PER   e.g. tools/measure-budget.py 1234 /tmp/u.sock 5000 786432
import socket, sys, time, select, os, fcntl, termios, array, struct
pid=int(sys.argv[1]); addr=sys.argv[2]; n=int(sys.argv[3]); per=int(sys.argv[4])
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1])*1024
def pipes():
    seen=set(); tot=0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        p=f"/proc/{pid}/fd/{fd}"
        try: t=os.readlink(p)
        except OSError: continue
        if not t.startswith("pipe:") or t in seen: continue
        seen.add(t)
        try: f=os.open(p, os.O_RDONLY|os.O_NONBLOCK)
        except OSError: continue
        b=array.array('i',[0]); fcntl.ioctl(f, termios.FIONREAD, b); tot+=b[0]; os.close(f)
    return tot
def mk():
    if addr.startswith("/"):
        s=socket.socket(socket.AF_UNIX); s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536); s.connect(addr)
    else:
        h,p=addr.rsplit(":",1); s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); s.connect((h,int(p)))
    return s
r0=rss(); cs=[]
for i in range(n):
    s=mk(); s.setblocking(False); cs.append(s)
sent=[0]*n; chunk=b"x"*65536; last=time.time(); t0=time.time()
while time.time()-last<1.5:
    for i,s in enumerate(cs):
        if sent[i]>=per: continue
        try: k=s.send(chunk[:min(65536,per-sent[i])]); sent[i]+=k; last=time.time()
        except BlockingIOError: pass
time.sleep(2)
r1=rss(); pb=pipes()
print(f"{n} clients sent {sum(sent)>>20} MiB; server RSS {r0>>10} KiB -> {r1>>10} KiB (+{(r1-r0)>>20} MiB), pipes {pb>>10} KiB; growth+pipes {(r1-r0+pb)/(1<<20):.1f} MiB", flush=True)
b=mk(); b.setblocking(False); data=b"y"*(1<<20); out=0; got=0; t=time.time()
while got<len(data) and time.time()-t<30:
    p=select.poll(); p.register(b, select.POLLIN | (select.POLLOUT if out<len(data) else 0))
    for fd,ev in p.poll(1000):
        if ev & select.POLLOUT:
            try: out+=b.send(data[out:out+65536])
            except BlockingIOError: pass
        if ev & select.POLLIN:
            try: got+=len(b.recv(1<<20))
            except BlockingIOError: pass
print(f"well-behaved client: 1 MiB echoed in {time.time()-t:.3f} s", flush=True)
got=[0]*n; t=time.time(); p=select.poll(); fdmap={}
for i,s in enumerate(cs): p.register(s, select.POLLIN); fdmap[s.fileno()]=i
left=n
while left and time.time()-t<60:
    for fd,ev in p.poll(1000):
        i=fdmap[fd]
        try: got[i]+=len(cs[i].recv(262144))
        except BlockingIOError: pass
        if got[i]>=sent[i]: p.unregister(fd); left-=1
print(f"read back in {time.time()-t:.1f} s; clients still short: {left}; bytes missing {sum(sent)-sum(got)}", flush=True)
