# cpu-window.py SERIES [SKIP_S]: CPU ms per thread kind (workers summed) from SKIP_S s after the workers got busy
# to the last snapshot in which they still were; SERIES from natgw-cpu.sh (or nulltun-cpu.sh).
import sys,collections
snaps=[]; cur=None
for l in open(sys.argv[1]):
    l=l.rstrip('\n')
    if l.startswith('T '): cur=(float(l[2:]),collections.Counter()); snaps.append(cur); continue
    n,_,v=l.rpartition('|')
    if not v.strip(): continue
    k='worker' if n.startswith('natgw-worker') else ('C2' if n.startswith('C2') else ('C1' if n.startswith('C1') else n))
    cur[1][k]+=int(v)/1e6
# storm start: first snapshot where worker CPU grew > 20 ms in 0.5s
start=None
for a,b in zip(snaps,snaps[1:]):
    if b[1]['worker']-a[1]['worker']>20: start=a; break
skip=float(sys.argv[2]) if len(sys.argv)>2 else 2
s0=[s for s in snaps if s[0]>=start[0]+skip][0]
# storm end: last snapshot where worker still growing
end=s0
for a,b in zip(snaps,snaps[1:]):
    if b[0]>s0[0] and b[1]['worker']-a[1]['worker']>20: end=b
d={k:end[1][k]-s0[1][k] for k in end[1]}
dur=end[0]-s0[0]
print('window %.1f s' % dur, ' '.join('%s=%.0f' % (k,v) for k,v in sorted(d.items(), key=lambda x:-x[1])[:9]))
