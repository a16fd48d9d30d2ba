#!/usr/bin/env python3
"""Deoptimizations in natgw's worker threads: each uncommon trap (HotSpot threw the compiled code of a method away
and went back to the interpreter) with its reason and method, from the compilation log of JIT_LOG=1 tun-drops.sh.
usage: tun-drops-deopts.py OUTDIR"""
import re, sys
out = sys.argv[1]
head = open(f"{out}/samples.txt").readline().split()
workers = {c.split(":")[1]: c.split(":")[0] for c in head if c.startswith("natgw-worker") and c.endswith(":state")}
methods = {}
for line in open(f"{out}/compilation.xml", errors="replace"):
    m = re.match(r"<(?:task_queued|nmethod) compile_id='(\d+)'.*?method='([^']+)'", line)
    if m:
        methods.setdefault(m.group(1), m.group(2))
seen = set()
for line in open(f"{out}/compilation.xml", errors="replace"):
    if not line.startswith("<uncommon_trap"):
        continue
    thread = re.search(r"thread='(\d+)'", line)
    if not thread or thread.group(1) not in workers:
        continue
    thread = thread.group(1)
    cid = re.search(r"compile_id='(\d+)'", line).group(1)
    reason = re.search(r"reason='(\w+)'", line).group(1)
    stamp = re.search(r"stamp='([\d.]+)'", line).group(1)
    if (cid, reason) in seen:
        continue
    seen.add((cid, reason))
    print(f"{stamp:>8} s  {workers[thread]}  {reason:<14} {methods.get(cid, '?')}")
