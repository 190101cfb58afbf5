#!/usr/bin/env python3
"""Speed of the REPL and the BCC tools (rows the shared bench does not have).

    scripts/bench_features.py [SCRY] [--runs N]

SCRY defaults to target/release/scry. Needs root. Prints a markdown table: median (min-max)
over the runs. Each row starts the real binary and times what a user waits for:

- REPL entry -> attached: an entry written to the REPL (standard input mode) until its
  `#1 attached` answer, next to `scry -e` for the same probe (exec until
  __BPFTRACE_NOTIFY_PROBES_ATTACHED);
- REPL 1,000 entries: open fds and BPF programs of the scry process before and after 1,000
  entries attached and detached;
- funccount 't:syscalls:sys_enter_*' and funccount 'c:str*': exec until the `Tracing ...`
  banner, and SIGINT until exit;
- stackcount -f over sched_switch of a fixture (built with gcc) that sleeps from 16,384
  distinct call paths: SIGINT until exit, and the folded lines printed.
"""

import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

PROBE = "tracepoint:syscalls:sys_enter_getppid { @n = count(); }"


def wait_for(proc, stream, needle, timeout=30.0):
    """Reads `stream` of `proc` until a line containing `needle`; returns that moment."""
    buf = b""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            if needle in buf:
                return time.monotonic()
        if proc.poll() is not None and not ready:
            break
    raise RuntimeError(f"no {needle!r} (got {buf[-300:]!r})")


def stop(proc):
    """SIGINT, then the time until the process exits."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    return time.monotonic() - t0


def ms(values):
    values = [v * 1000 for v in values]
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def e_attach(scry):
    env = dict(os.environ, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    t0 = time.monotonic()
    p = subprocess.Popen([scry, "-e", PROBE], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    t1 = wait_for(p, p.stderr, b"__BPFTRACE_NOTIFY_PROBES_ATTACHED")
    stop(p)
    return t1 - t0


def repl_open(scry):
    p = subprocess.Popen([scry], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=dict(os.environ, TERM="dumb"))
    return p


def repl_entry(scry):
    p = repl_open(scry)
    # The session is open once a first statement has run.
    p.stdin.write(b'printf("ready\\n");\n')
    p.stdin.flush()
    time.sleep(0.3)
    t0 = time.monotonic()
    p.stdin.write((PROBE + "\n").encode())
    p.stdin.flush()
    t1 = wait_for(p, p.stderr, b"attached")
    p.stdin.close()
    p.wait(timeout=30)
    return t1 - t0


def counts(pid):
    fds = os.listdir(f"/proc/{pid}/fd")
    progs = 0
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:bpf-prog":
                progs += 1
        except OSError:
            pass
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return len(fds), progs, rss


def repl_leak(scry, entries=1000):
    p = repl_open(scry)
    p.stdin.write(b'printf("ready\\n");\n')
    p.stdin.flush()
    time.sleep(0.3)
    before = counts(p.pid)
    for i in range(entries):
        p.stdin.write((PROBE + "\n.detach all\n").encode())
    p.stdin.write(b'printf("done\\n");\n')
    p.stdin.flush()
    wait_for(p, p.stderr, b"#%d" % (entries + 1), timeout=600)
    time.sleep(0.5)
    after = counts(p.pid)
    p.stdin.close()
    p.wait(timeout=60)
    return before, after


def funccount(scry, pattern):
    t0 = time.monotonic()
    p = subprocess.Popen([scry, "funccount", pattern], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    t1 = wait_for(p, p.stdout, b"Tracing")
    time.sleep(0.25)
    return t1 - t0, stop(p)


# 16,384 call paths (a or b at each of 14 levels), each ending in a nanosleep system call.
STACKS_C = r"""
#include <time.h>
static void leaf(void) {
    struct timespec t = {0, 1};
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(35), "D"(&t), "S"(0) : "rcx", "r11", "memory");
}
void a(int d, unsigned p);
void b(int d, unsigned p);
void step(int d, unsigned p) {
    if (d == 0) { leaf(); return; }
    if (p & 1) a(d - 1, p >> 1); else b(d - 1, p >> 1);
}
void a(int d, unsigned p) { step(d, p); __asm__ volatile(""); }
void b(int d, unsigned p) { step(d, p); __asm__ volatile(""); }
int main(void) { for (;;) for (unsigned p = 0; p < 16384; p++) step(14, p); }
"""


def stackcount_folded(scry, fixture):
    """SIGINT until exit of `stackcount -f` after 4 s of the fixture; and the lines printed."""
    w = subprocess.Popen([fixture])
    p = subprocess.Popen([scry, "stackcount", "-f", "-U", "-p", str(w.pid),
                          "t:sched:sched_switch"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    time.sleep(4)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    took = time.monotonic() - t0
    w.kill()
    w.wait()
    return took, sum(1 for line in out.splitlines() if line.strip())


def main():
    args = sys.argv[1:]
    runs = 5
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    scry = args[0] if args else "target/release/scry"
    rows = []
    e = [e_attach(scry) for _ in range(runs)]
    r = [repl_entry(scry) for _ in range(runs)]
    rows.append(("`scry -e` exec -> attached, one tracepoint", "ms", ms(e)))
    rows.append(("REPL entry -> attached, the same probe", "ms", ms(r)))
    for pattern in ["t:syscalls:sys_enter_*", "c:str*"]:
        got = [funccount(scry, pattern) for _ in range(runs)]
        rows.append((f"`funccount '{pattern}'` exec -> attached", "ms", ms([a for a, _ in got])))
        rows.append((f"`funccount '{pattern}'` SIGINT -> exit", "ms", ms([b for _, b in got])))
    with tempfile.TemporaryDirectory() as tmp:
        src, fixture = os.path.join(tmp, "stacks.c"), os.path.join(tmp, "stacks")
        with open(src, "w") as f:
            f.write(STACKS_C)
        subprocess.run(["gcc", "-O0", "-fno-omit-frame-pointer", "-o", fixture, src],
                       check=True)
        got = [stackcount_folded(scry, fixture) for _ in range(runs)]
    rows.append((f"`stackcount -f` SIGINT -> exit ({min(n for _, n in got):,}-"
                 f"{max(n for _, n in got):,} distinct stacks)", "ms", ms([t for t, _ in got])))
    before, after = repl_leak(scry)
    rows.append(("REPL 1,000 entries attached and detached: fds, BPF programs, RSS KiB",
                 "before -> after", f"{before[0]}, {before[1]}, {before[2]} -> "
                                    f"{after[0]}, {after[1]}, {after[2]}"))
    print("| row | unit | scry |")
    print("| --- | --- | --- |")
    for name, unit, value in rows:
        print(f"| {name} | {unit} | {value} |")


if __name__ == "__main__":
    main()
