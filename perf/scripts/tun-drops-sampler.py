#!/usr/bin/env python3
"""Run inside the gateway namespace: samples the TUN's counters and natgw's threads' scheduler stats.
usage: tun-drops-sampler.py PID TUN PERIOD_MS OUT (perf/scripts/tun-drops.sh runs it)"""
import os, sys, time
pid, tun, period, out = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]) / 1000, sys.argv[4]
stat = f"/sys/class/net/{tun}/statistics/"
def rd(p):
    with open(p) as f: return f.read().strip()
def threads():
    res = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = rd(f"/proc/{pid}/task/{tid}/comm")
            res[tid] = name
        except OSError: pass
    return res
names = threads()
watch = {t: n for t, n in names.items() if n.startswith(("natgw-worker", "GC Thread", "C2 Compiler", "C1 Compiler", "VM Thread", "natgw-reaper"))}
with open(out, "w") as f:
    f.write("t_s tx_packets tx_dropped rx_packets " + " ".join(f"{n.replace(' ', '_')}:{t}:state {n.replace(' ', '_')}:{t}:run_ns {n.replace(' ', '_')}:{t}:wait_ns" for t, n in watch.items()) + "\n")
    while True:
        try:
            row = [f"{time.monotonic():.4f}", rd(stat + "tx_packets"), rd(stat + "tx_dropped"), rd(stat + "rx_packets")]
            for t in watch:
                s = rd(f"/proc/{pid}/task/{t}/stat")
                state = s[s.rindex(")") + 2]
                run_ns, wait_ns, _ = rd(f"/proc/{pid}/task/{t}/schedstat").split()
                row += [state, run_ns, wait_ns]
            f.write(" ".join(row) + "\n")
        except (OSError, ValueError):
            break
        time.sleep(period)
