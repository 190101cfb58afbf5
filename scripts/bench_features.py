#!/usr/bin/env python3
"""Speed of the REPL, the BCC tools and the wasm plugins (rows the shared bench does not have).

    scripts/bench_features.py [SCRY] [--runs N] [--plugins DIR [--only reducer,printf,load,rss]]
    scripts/bench_features.py [SCRY] [--runs N] --tools

With --plugins DIR (the example plugins built by scripts/build-plugins.sh DIR), only the
plugin rows run (--only: some of them).

SCRY defaults to target/release/scry. Needs root. Prints a markdown table: median (min-max)
over the runs. Each row starts the real binary and times what a user waits for:

- REPL entry -> attached: an entry written to the REPL (standard input mode) until its
  `#1 attached` answer, next to `scry -e` for the same probe (exec until
  __BPFTRACE_NOTIFY_PROBES_ATTACHED);
- REPL 1,000 entries: open fds, BPF programs and RSS of the scry process after 50 entries
  attached and detached (warm-up) and after 1,000 more;
- funccount 't:syscalls:sys_enter_*' and funccount 'c:str*': exec until the `Tracing ...`
  banner, and SIGINT until exit; after each `c:str*` run, the kernel's floor under that exit
  in the same minute: the close of a uprobe_multi link on one offset of a copy of libc that no
  process maps, 250 ms after attaching it (as the tool is used), with an empty program: the
  close waits for the same grace periods as any uprobe_multi link's. --tools runs only these
  rows;
- plugins: the added cost per event of the `quantiles` reducer against in-kernel `hist()` on
  the same syscall stream (the workload's time over its untraced time, plus scry's CPU time
  over an idle run's, per event); printf through the `printf` plugin against native printf
  (lines per second of scry's CPU time beyond an idle run's, and lines lost, under a flood
  and paced; the plugin prints printf in scry's place); a plugin's compile + instantiate
  time (a run with the plugin minus one without), cold (an empty module cache every run) and
  warm (loaded from the cache); the peak RSS of a run with one plugin.
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
    """SIGINT, then the time until the process exits. The wait blocks in waitpid:
    `Popen.wait(timeout)` polls with sleeps doubling up to 50 ms, which read an exit of 32 ms
    as 64. A run that does not end within 60 s ends the bench (SIGALRM)."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    signal.alarm(60)
    try:
        proc.wait()
    finally:
        signal.alarm(0)
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


def repl_leak(scry, entries=1000, warm_up=50):
    """Resources after `warm_up` entries attached and detached (the allocator at its
    high-water mark), and after `entries` more."""
    p = repl_open(scry)
    for i in range(warm_up):
        p.stdin.write((PROBE + "\n.detach all\n").encode())
    p.stdin.flush()
    wait_for(p, p.stderr, b"#%d detached" % warm_up, timeout=600)
    time.sleep(0.3)
    before = counts(p.pid)
    for i in range(entries):
        p.stdin.write((PROBE + "\n.detach all\n").encode())
    p.stdin.flush()
    wait_for(p, p.stderr, b"#%d detached" % (warm_up + entries), timeout=600)
    time.sleep(0.5)
    after = counts(p.pid)
    p.stdin.close()
    p.wait(timeout=60)
    return before, after


LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
BPF_PROG_LOAD, BPF_LINK_CREATE = 5, 28
BPF_PROG_TYPE_KPROBE, BPF_TRACE_UPROBE_MULTI = 2, 48


def bpf(cmd, attr):
    """The bpf(2) system call (x86-64) on the attribute bytes `attr`."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    fd = libc.syscall(321, cmd, buf, len(attr))
    if fd < 0:
        raise OSError(ctypes.get_errno(), f"bpf command {cmd}")
    return fd, buf


def entry_offset(path):
    """The file offset of an ELF file's entry point."""
    import struct
    with open(path, "rb") as f:
        elf = f.read(64)
        entry, phoff = struct.unpack_from("<QQ", elf, 24)
        phentsize, phnum = struct.unpack_from("<HH", elf, 54)
        f.seek(phoff)
        headers = f.read(phentsize * phnum)
    for i in range(phnum):
        kind, _, offset, vaddr, _, _, memsz = struct.unpack_from("<IIQQQQQ", headers,
                                                                 i * phentsize)
        if kind == 1 and vaddr <= entry < vaddr + memsz:
            return entry - vaddr + offset
    raise RuntimeError(f"{path}: no segment holds the entry point")


def uprobe_multi_close_floor(path, offset):
    """Close time of a uprobe_multi link on `offset` of `path`, 250 ms after attaching it, with
    the program `r0 = 0; exit`."""
    import ctypes
    import struct
    insns = ctypes.create_string_buffer(bytes.fromhex("b700000000000000" "9500000000000000"))
    license = ctypes.create_string_buffer(b"GPL")
    attr = bytearray(128)
    struct.pack_into("<IIQQ", attr, 0, BPF_PROG_TYPE_KPROBE, 2, ctypes.addressof(insns),
                     ctypes.addressof(license))
    struct.pack_into("<I", attr, 68, BPF_TRACE_UPROBE_MULTI)
    prog, _ = bpf(BPF_PROG_LOAD, attr)
    name = ctypes.create_string_buffer(path.encode())
    offsets = (ctypes.c_uint64 * 1)(offset)
    attr = bytearray(64)
    struct.pack_into("<IIIIQQQQI", attr, 0, prog, 0, BPF_TRACE_UPROBE_MULTI, 0,
                     ctypes.addressof(name), ctypes.addressof(offsets), 0, 0, 1)
    link, _ = bpf(BPF_LINK_CREATE, attr)
    time.sleep(0.25)
    t0 = time.monotonic()
    os.close(link)
    elapsed = time.monotonic() - t0
    os.close(prog)
    return elapsed


def funccount_rows(scry, runs):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lib = os.path.join(tmp, "libc-copy.so")
        with open(LIBC, "rb") as src, open(lib, "wb") as dst:
            dst.write(src.read())
        offset = entry_offset(lib)
        for pattern in ["t:syscalls:sys_enter_*", "c:str*"]:
            got, floor = [], []
            for _ in range(runs):
                got.append(funccount(scry, pattern))
                if pattern == "c:str*":
                    floor.append(uprobe_multi_close_floor(lib, offset))
            rows.append((f"`funccount '{pattern}'` exec -> attached", "ms",
                         ms([a for a, _ in got])))
            rows.append((f"`funccount '{pattern}'` SIGINT -> exit", "ms",
                         ms([b for _, b in got])))
        rows.append(("kernel floor, same minutes: close a uprobe_multi link 250 ms after "
                     "attaching it", "ms", ms(floor)))
    return rows


def funccount(scry, pattern):
    t0 = time.monotonic()
    p = subprocess.Popen([scry, "funccount", pattern], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    t1 = wait_for(p, p.stdout, b"Tracing")
    time.sleep(0.25)
    return t1 - t0, stop(p)


# ---- plugins ------------------------------------------------------------------------------

WORKLOAD = r"""
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]), pause = argc > 2 ? atol(argv[2]) : 0;
  for (long i = 0; i < n; i++) {
    lseek(-1, i % 100000, SEEK_SET);
    if (pause && i % 1000 == 999) usleep(pause);
  }
  return 0;
}
"""
LSEEK = "tracepoint:syscalls:sys_enter_lseek /comm == \"bench_lseek\"/ "


def workload(tmp):
    """Builds the lseek stream: `bench_lseek N [US]` makes N lseek calls (offsets 0..99999),
    sleeping US microseconds after each thousand."""
    src = os.path.join(tmp, "bench_lseek.c")
    with open(src, "w") as f:
        f.write(WORKLOAD)
    exe = os.path.join(tmp, "bench_lseek")
    subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    return exe


def cpu_of(p):
    """Waits for `p`; its user + system CPU seconds."""
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def timed(exe, n):
    t0 = time.monotonic()
    subprocess.run([exe, str(n)], check=True)
    return time.monotonic() - t0


LOST = []


def traced(scry, args, exe, n, out=os.devnull):
    """scry with `args`, attached; the workload's wall time and scry's CPU seconds (events
    scry reports lost are added to LOST)."""
    env = dict(os.environ, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    p = subprocess.Popen([scry, "-o", out] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    wait_for(p, p.stderr, b"__BPFTRACE_NOTIFY_PROBES_ATTACHED")
    wall = timed(exe, n) if n else 0.0
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    cpu = cpu_of(p)
    for word in p.stderr.read().decode(errors="replace").split("Lost ")[1:]:
        LOST.append(int(word.split()[0]))
    return wall, cpu


def per_event_ns(scry, args, exe, n, runs):
    """Added cost per event of `args`: workload slow-down plus scry's CPU beyond an idle run."""
    base = statistics.median(timed(exe, n) for _ in range(runs))
    got = []
    for _ in range(runs):
        wall, cpu = traced(scry, args, exe, n)
        _, idle = traced(scry, args, exe, 0)
        got.append(((wall - base) + (cpu - idle)) / n * 1e9)
    return got


def printf_rate(scry, args, exe, n, tmp, pause=0):
    """A printf per event to a file: the lines/s scry's user space sustains (lines over the
    CPU seconds it spent on them, beyond an idle run's), and the lines lost."""
    out = os.path.join(tmp, "printf.out")
    env = dict(os.environ, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    p = subprocess.Popen([scry, "-o", out] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    wait_for(p, p.stderr, b"__BPFTRACE_NOTIFY_PROBES_ATTACHED")
    subprocess.run([exe, str(n), str(pause)], check=True)
    size, last = -1, time.monotonic()
    while time.monotonic() - last < 0.3:
        if os.path.getsize(out) != size:
            size, last = os.path.getsize(out), time.monotonic()
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    cpu = cpu_of(p)
    _, idle = traced(scry, args, exe, 0)
    with open(out, "rb") as f:
        lines = sum(1 for line in f if line.startswith(b"lseek "))
    return lines / (cpu - idle), n - lines


def peak_rss_kib(scry, args, exe):
    env = dict(os.environ, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    p = subprocess.Popen([scry, "-o", os.devnull] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    wait_for(p, p.stderr, b"__BPFTRACE_NOTIFY_PROBES_ATTACHED")
    subprocess.run([exe, "200000"], check=True)
    time.sleep(0.3)
    with open(f"/proc/{p.pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    return rss


def run_time(scry, args, cache=None):
    """Seconds of `scry ARGS -e 'BEGIN { exit(); }'`, or None if scry refused to run; with
    `cache`, plugins are compiled once into that directory ($XDG_CACHE_HOME) and loaded from
    it after, else into a new empty one every run (always compiled)."""
    with tempfile.TemporaryDirectory(prefix="scry-bench-cold-") as cold:
        env = dict(os.environ, XDG_CACHE_HOME=cache or cold)
        t0 = time.monotonic()
        done = subprocess.run([scry] + args + ["-e", "BEGIN { exit(); }"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        took = time.monotonic() - t0
    return took if done.returncode == 0 else None


def plugin_rows(scry, plugins, runs, only=None):
    rows = []
    tmp = tempfile.mkdtemp(prefix="scry-bench-plugins-")
    exe = workload(tmp)
    q = os.path.join(plugins, "quantiles-c.wasm")
    groups = [("reducer", reducer_rows), ("printf", printf_rows), ("load", load_rows),
              ("rss", rss_rows)]
    for name, group in groups:
        if only is None or name in only:
            rows += group(scry, plugins, runs, tmp, exe, q)
    return rows


def reducer_rows(scry, plugins, runs, tmp, exe, q):
    rows = []
    n = 1_000_000
    hist_args = ["-e", LSEEK + "{ @h = hist(args->offset); }"]
    quant_args = ["--plugin", f"q={q}", "-e", LSEEK + "{ @q = q::quantiles(args->offset); }"]
    # Run by run in turn, so that both see the same load on a shared machine.
    hist, quant = [], []
    LOST.clear()
    for _ in range(runs):
        hist += per_event_ns(scry, hist_args, exe, n, 1)
        quant += per_event_ns(scry, quant_args, exe, n, 1)
    ns = lambda v: f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})"
    rows.append(("added cost per event, in-kernel `hist()`, 1M lseek", "ns", ns(hist)))
    rows.append(("added cost per event, `quantiles` reducer plugin, same stream", "ns",
                 ns(quant) + f"; {statistics.median(quant) / statistics.median(hist):.2f}x hist"
                 f"; lost {max(LOST, default=0)}"))
    return rows


def printf_rows(scry, plugins, runs, tmp, exe, q):
    rows = []
    prog = LSEEK + '{ printf("lseek %d %s\\n", args->offset, comm); }'
    plugin = ["--plugin", f"p={os.path.join(plugins, 'printf.wasm')}"]
    for name, extra in [("native printf", []), ("printf plugin", plugin)]:
        for load, pause in [("flood", 0), ("1000 every 5 ms", 5000)]:
            got = [printf_rate(scry, extra + ["-e", prog], exe, 200_000, tmp, pause)
                   for _ in range(runs)]
            rates = [r for r, _ in got]
            rows.append((f"{name}, 200k events ({load}): lines/s of user-space CPU, most "
                         "lines lost", "lines/s",
                         f"{statistics.median(rates):,.0f} ({min(rates):,.0f}-"
                         f"{max(rates):,.0f}), lost {max(l for _, l in got)}"))
    return rows


def load_rows(scry, plugins, runs, tmp, exe, q):
    rows = []
    bare = [run_time(scry, []) for _ in range(runs)]
    for name in ["quantiles-c", "quantiles-rs", "prometheus", "heatmap", "printf"]:
        path = os.path.join(plugins, f"{name}.wasm")
        args = ["--plugin", f"x={path}"]
        if name == "prometheus":
            args += ["--plugin-allow", f"x:fs={tmp}"]
        row = f"`{name}` compile + instantiate ({os.path.getsize(path) // 1024} KiB)"
        cold = [run_time(scry, args) for _ in range(runs)]
        warm_cache = os.path.join(tmp, f"cache-{name}")
        primed = run_time(scry, args, warm_cache)
        warm = [run_time(scry, args, warm_cache) for _ in range(runs)]
        if None in cold or primed is None:
            rows.append((row, "ms", "n/a: this scry refuses the plugin"))
            continue
        base = statistics.median(bare)
        rows.append((row + ", cold (compiled)", "ms", ms([w - base for w in cold])))
        rows.append((row + ", warm (module cache)", "ms", ms([w - base for w in warm])))
    return rows


def rss_rows(scry, plugins, runs, tmp, exe, q):
    rows = []
    rss = [peak_rss_kib(scry, ["--plugin", f"q={q}",
                               "-e", LSEEK + "{ @q[comm] = q::quantiles(args->offset); }"], exe)
           for _ in range(runs)]
    rows.append(("peak RSS, one `quantiles` plugin, 200k events", "MiB",
                 f"{statistics.median(rss) / 1024:.1f} ({min(rss) / 1024:.1f}-{max(rss) / 1024:.1f})"))
    return rows


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
    plugins, only = None, None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1].split(",")
        del args[i:i + 2]
    if "--plugins" in args:
        i = args.index("--plugins")
        plugins = args[i + 1]
        del args[i:i + 2]
    tools = "--tools" in args
    if tools:
        args.remove("--tools")
    scry = args[0] if args else "target/release/scry"
    if tools:
        print_rows(funccount_rows(scry, runs))
        return
    if plugins:
        print_rows(plugin_rows(scry, plugins, runs, only))
        return
    rows = []
    e = [e_attach(scry) for _ in range(runs)]
    r = [repl_entry(scry) for _ in range(runs)]
    rows.append(("`scry -e` exec -> attached, one tracepoint", "ms", ms(e)))
    rows.append(("REPL entry -> attached, the same probe", "ms", ms(r)))
    rows += funccount_rows(scry, runs)
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
    print_rows(rows)


def print_rows(rows):
    print("| row | unit | scry |")
    print("| --- | --- | --- |")
    for name, unit, value in rows:
        print(f"| {name} | {unit} | {value} |")


if __name__ == "__main__":
    main()
