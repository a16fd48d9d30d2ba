#!/usr/bin/env python3
"""For each 5 ms sample interval with TUN drops: what natgw's threads did (state, ms run, ms waiting for a CPU).
usage: tun-drops-analyze.py SAMPLES (written by tun-drops.sh)"""
import sys
rows = [l.split() for l in open(sys.argv[1])]
head, data = rows[0], rows[1:]
cols = {n: i for i, n in enumerate(head)}
workers = sorted({n.rsplit(":", 2)[0] + ":" + n.rsplit(":", 2)[1] for n in head[4:]})
def v(r, k): return r[cols[k]]
drops_total = int(data[-1][2]) - int(data[0][2])
print(f"samples {len(data)}, TUN tx_dropped +{drops_total}, tx_packets +{int(data[-1][1]) - int(data[0][1])}")
# whole-run wait share per worker
t0, t1 = float(data[0][0]), float(data[-1][0])
for w in workers:
    if not w.startswith("natgw-worker"): continue
    run = (int(v(data[-1], w + ":run_ns")) - int(v(data[0], w + ":run_ns"))) / 1e6
    wait = (int(v(data[-1], w + ":wait_ns")) - int(v(data[0], w + ":wait_ns"))) / 1e6
    print(f"  {w}: ran {run:.0f} ms, waited for a CPU {wait:.0f} ms over {1000*(t1-t0):.0f} ms")
events = []
for a, b in zip(data, data[1:]):
    d = int(b[2]) - int(a[2])
    if d > 0: events.append((a, b, d))
print(f"intervals with drops: {len(events)}")
# group consecutive intervals
prev_end = None
for a, b, d in events[:40]:
    parts = []
    for w in workers:
        run = (int(v(b, w + ":run_ns")) - int(v(a, w + ":run_ns"))) / 1e6
        wait = (int(v(b, w + ":wait_ns")) - int(v(a, w + ":wait_ns"))) / 1e6
        if w.startswith("natgw-worker") or run > 0.5 or wait > 0.5:
            parts.append(f"{w.split(':')[0]} {v(b, w + ':state')} run {run:.1f} wait {wait:.1f}")
    print(f"t={float(a[0]) - t0:8.3f}-{float(b[0]) - t0:.3f} drops +{d} pkts +{int(b[1]) - int(a[1])} | " + "; ".join(parts))
