# TUN residence per packet from two captures of the TUN (tcpdump -Q out: handed to the forwarder; -Q in: written
# back by it), matched on TCP seq/ack/flags, which NAT does not change: python3 tun-residence.py TAG (TAG-out.pcap, TAG-in.pcap)
import struct, sys, statistics as st
def read(fn):
    f=open(fn,'rb'); gh=f.read(24)
    magic,=struct.unpack('<I',gh[:4]); lt,=struct.unpack('<I',gh[20:24])
    out=[]
    while True:
        h=f.read(16)
        if len(h)<16: break
        s,ns,incl,orig=struct.unpack('<IIII',h); d=f.read(incl)
        t=s*1e9+ns
        ip=d
        if lt==113: ip=d[16:]  # linux cooked
        ihl=(ip[0]&15)*4
        src=ip[12:16]; dst=ip[16:20]
        tcp=ip[ihl:]
        sp,dp,seq,ack=struct.unpack('>HHII',tcp[:12]); fl=tcp[13]
        out.append((t,src,sp,dst,dp,seq,ack,fl))
    return out,lt
def pct(v,p): v=sorted(v); return v[int(p*(len(v)-1))]
for tag in sys.argv[1:]:
    o,lt=read(tag+'-out.pcap'); i,_=read(tag+'-in.pcap')
    # key: (seq, ack, flags) unchanged by NAT
    ino={}
    for p in i: ino.setdefault((p[5],p[6],p[7]),p[0])
    res={'SYN':[],'SYNACK':[],'other':[]}
    for p in o:
        k=(p[5],p[6],p[7])
        if k in ino:
            d=(ino[k]-p[0])/1000
            if d<0 or d>100000: continue
            kind='SYN' if p[7]&0x12==0x02 else ('SYNACK' if p[7]&0x12==0x12 else 'other')
            res[kind].append(d)
    print(tag, 'linktype',lt, 'out',len(o),'in',len(i))
    for k,v in res.items():
        if v: print(f"  {k:6} n={len(v):6} p50={pct(v,.5):8.1f}us p90={pct(v,.9):8.1f} p99={pct(v,.99):8.1f} mean={st.mean(v):8.1f}")
    # server round trip: SYN out of TUN -> SYNACK into TUN (ack = syn seq+1)
    synout={p[5]:ino[(p[5],p[6],p[7])] for p in o if p[7]&0x12==0x02 and (p[5],p[6],p[7]) in ino}
    rt=[]
    for p in o:
        if p[7]&0x12==0x12 and (p[6]-1) in synout:
            rt.append((p[0]-synout[p[6]-1])/1000)
    rt=[x for x in rt if 0<=x<100000]
    if rt: print(f"  server rtt (SYN out->SYNACK in) n={len(rt)} p50={pct(rt,.5):.1f} p90={pct(rt,.9):.1f} mean={st.mean(rt):.1f}")
