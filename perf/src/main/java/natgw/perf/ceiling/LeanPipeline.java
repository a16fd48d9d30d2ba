package natgw.perf.ceiling;

import java.util.Arrays;

import org.agrona.UnsafeAccess;

import natgw.core.flow.FlowTuple;
import natgw.core.packet.Checksum;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.PacketMemory;
import natgw.core.packet.TcpHeader;

import sun.misc.Unsafe;

/**
 * The leanest Java form of the pipeline's fast path: {@code perf/native/pipeline_ceiling.c}'s {@code passes}
 * mode ported line for line, with raw addresses, no flyweights, no cursor, no generation or restart checks,
 * and natgw's own checksum and hash helpers. What the JIT makes of this work on this machine, to compare with
 * the C code and with {@code PipelineBenchmark.processBatch} ({@code perf/scripts/pipeline-ceiling.sh}).
 * <pre>
 *   java -cp perf/target/benchmarks.jar natgw.perf.ceiling.LeanPipeline CONNECTIONS SECONDS
 * </pre>
 * Not the product: it handles only the benchmark's established TCP ACKs and keeps none of the table's
 * concurrency protocol.
 */
public final class LeanPipeline
{
    static final Unsafe U = UnsafeAccess.UNSAFE;
    static final int BATCH = 64, ENTRY = 64, RECORD = 20, PACKET_LENGTH = 40;
    static final long SEED = 0x5DEECE66DL;

    final long buckets, entries;
    final long bucketCount;
    final byte[] tcpNext = new byte[1024];
    final int[] timeout = new int[16];
    long found, dropped;

    LeanPipeline(int n)
    {
        int capacity = n + 4096, nb = Math.max(8, (int)((long)capacity * 11 / 4)); // as ConntrackTable.bucketCount
        bucketCount = nb;
        long length = (long)nb * 8 + (long)capacity * (ENTRY + 48);
        long base = U.allocateMemory(length + 64);
        U.setMemory(base, length + 64, (byte)0);
        buckets = (base + 63) & ~63L;
        entries = buckets + (long)nb * 8;
        for (int i = 0; i < 1024; i++) tcpNext[i] = (byte)(i & 0xF);
        Arrays.fill(timeout, 432000 * 1000 / 4);
    }

    int bucketOf(int hash)
    {
        return (int)((hash & 0xFFFFFFFFL) * bucketCount >>> 32);
    }

    static int hash(long addresses, long ports)
    {
        return FlowTuple.hash(addresses, ports, SEED);
    }
    long line(int ref) { return entries + (long)((ref - 1) >>> 1) * ENTRY; }
    long link(int ref) { return line(ref) + ((ref - 1) & 1) * 8; }
    long tuple(int ref) { return line(ref) + 16 + ((ref - 1) & 1) * 16; }

    void linkNode(int entry, int dir, long addresses, long ports)
    {
        int ref = entry * 2 + dir + 1;
        U.putLong(tuple(ref), addresses); U.putLong(tuple(ref) + 8, ports);
        long prev = buckets + ((long)(bucketOf(hash(addresses, ports))) << 3);
        while ((U.getLong(prev) & 0xFFFFFFFFL) != 0) prev = link((int)U.getLong(prev));
        U.putLong(prev, ref);
    }

    static long be64(long addr) { return Long.reverseBytes(U.getLong(addr)); }
    static int be32(long addr) { return Integer.reverseBytes(U.getInt(addr)); }
    static long sum32(long w) { return (w >>> 32) + (w & 0xFFFFFFFFL); }
    static int changed(int x, int y) { int d = x ^ y; return (d | -d) >> 31; }

    final long[] ka = new long[BATCH], kb = new long[BATCH];
    final int[] bk = new int[BATCH], fl = new int[BATCH], ref = new int[BATCH];
    final boolean[] ok = new boolean[BATCH];

    boolean parse(long p, int length, int j)
    {
        if (length < 20) return false;
        long ip0 = be64(p), ip1 = be64(p + 8);
        int dst = be32(p + 16);
        if (ip0 >>> 60 != 4) return false;
        int ihl = (int)(ip0 >>> 56 & 0xF) << 2;
        int total = (int)(ip0 >>> 32 & 0xFFFF);
        if (ihl != 20 || total < ihl || total > length) return false;
        if (Checksum.finish(sum32(ip0) + sum32(ip1) + (dst & 0xFFFFFFFFL)) != 0) return false;
        if (ip1 >>> 56 == 0) return false;
        if ((ip0 & 0x3FFF) != 0) return false;
        if ((ip1 >>> 48 & 0xFF) != 6) return false;
        int src = (int)ip1;
        int l4len = total - ihl;
        if (l4len < 20) return false;
        long t = p + ihl;
        long t0 = be64(t), t1 = be64(t + 8);
        int hl = (int)(t1 >>> 28 & 0xF) << 2;
        if (hl < 20 || hl > l4len) return false;
        long s = Checksum.pseudoHeaderSum(src, dst, 6, l4len) + sum32(t0) + sum32(t1) + (be32(t + 16) & 0xFFFFFFFFL);
        if (l4len != 20) return false;
        if (Checksum.finish(s) != 0) return false;
        long addresses = (long)src << 32 | (dst & 0xFFFFFFFFL), ports = 6L << 32 | (t0 >>> 32);
        ka[j] = addresses; kb[j] = ports;
        bk[j] = bucketOf(hash(addresses, ports));
        fl[j] = (int)(t1 >>> 16 & 0xFF);
        return true;
    }

    boolean act(long p, long addresses, long ports, int bucket, int flags, int nowMs)
    {
        int r = (int)U.getLongVolatile(null, buckets + ((long)bucket << 3));
        while (r != 0)
        {
            long t = tuple(r);
            if (U.getLongVolatile(null, t) == addresses && U.getLongVolatile(null, t + 8) == ports) break;
            r = (int)U.getLongVolatile(null, link(r));
        }
        if (r == 0) return false;
        found++;
        long e = line(r);
        int dir = (r - 1) & 1;
        int status = U.getIntVolatile(null, e + 48);
        if ((status & 7) != 2) return false;
        long other = e + 16 + (dir ^ 1) * 16;
        long oa = U.getLong(other), ob = U.getLong(other + 8);
        long pending = e + 56 + dir * 4;
        int total = PacketMemory.u16(null, p + 2);
        int count = U.getAndAddInt(null, pending, (1 << 22) | total) + ((1 << 22) | total);
        if (count >>> 22 >= 512) U.getAndSetInt(null, pending, 0);
        int state = status >>> 8 & 0xF;
        int next = tcpNext[dir << 9 | (flags & 0x17) << 4 | state];
        int update = (status & ~0xF00) | next << 8 | (dir != 0 ? 8 : 0);
        if (update != status) U.compareAndSwapInt(null, e + 48, status, update);
        int deadline = nowMs + timeout[next];
        if (deadline - U.getIntVolatile(null, e + 52) > 1000) U.putOrderedInt(null, e + 52, deadline);
        int src = (int)(addresses >>> 32), dst = (int)addresses, nsrc = (int)oa, ndst = (int)(oa >>> 32);
        int sport = (int)(ports >>> 16 & 0xFFFF), dport = (int)(ports & 0xFFFF), nsport = (int)(ob & 0xFFFF), ndport = (int)(ob >>> 16 & 0xFFFF);
        int d = Checksum.addDelta(Checksum.delta32(src, nsrc) & changed(src, nsrc), Checksum.delta32(dst, ndst) & changed(dst, ndst));
        PacketMemory.putInt(null, p + 12, nsrc);
        PacketMemory.putInt(null, p + 16, ndst);
        PacketMemory.putU16(null, p + 10, Checksum.applyDelta(PacketMemory.u16(null, p + 10), d));
        int l4 = Checksum.addDelta(Checksum.addDelta(d, Checksum.delta16(sport, nsport) & changed(sport, nsport)), Checksum.delta16(dport, ndport) & changed(dport, ndport));
        PacketMemory.putU16(null, p + 20, nsport);
        PacketMemory.putU16(null, p + 22, ndport);
        PacketMemory.putU16(null, p + 36, Checksum.applyDelta(PacketMemory.u16(null, p + 36), l4));
        return true;
    }

    long sink;

    void batch(long[] packets, int nowMs)
    {
        for (int j = 0; j < BATCH; j++) ok[j] = parse(packets[j], PACKET_LENGTH, j);
        for (int j = 0; j < BATCH; j++) ref[j] = (int)U.getLong(buckets + ((long)bk[j] << 3));
        long s = 0;
        for (int j = 0; j < BATCH; j++) { int r = ref[j]; s += U.getLong(line(r + (r == 0 ? 1 : 0))); }
        for (int step = 0; step < 2; step++)
        {
            for (int j = 0; j < BATCH; j++)
            {
                int r = ref[j], rr = r + (r == 0 ? 1 : 0);
                long t = tuple(rr);
                long differ = (U.getLong(t) ^ ka[j]) | (U.getLong(t + 8) ^ kb[j]);
                int next = (int)U.getLong(link(rr));
                ref[j] = differ != 0 && r != 0 ? next : 0;
            }
            for (int j = 0; j < BATCH; j++) { int r = ref[j]; if (r != 0) s += U.getLong(line(r)); }
        }
        sink += s;
        for (int j = 0; j < BATCH; j++)
        {
            if (!ok[j] || !act(packets[j], ka[j], kb[j], bk[j], fl[j], nowMs)) dropped++;
        }
    }

    public static void main(String[] args)
    {
        if (args.length != 2)
        {
            System.err.println("usage: LeanPipeline CONNECTIONS SECONDS");
            System.exit(2);
        }
        int n = Integer.parseInt(args[0]);
        int seconds = Integer.parseInt(args[1]);
        LeanPipeline l = new LeanPipeline(n);
        int pool = 198 << 24 | 51 << 16 | 100 << 8 | 1;
        int[] clients = new int[n], servers = new int[n], nat = new int[n];
        for (int i = 0; i < n; i++)
        {
            clients[i] = (10 << 24) + i + 1; servers[i] = (203 << 24 | 113 << 8) + i % 200; nat[i] = 1024 + i / 200;
            U.putInt(l.entries + (long)i * ENTRY + 48, 2 | 8 | 16 | 32 | 3 << 8);
            l.linkNode(i, 0, (long)clients[i] << 32 | (servers[i] & 0xFFFFFFFFL), 6L << 32 | 40000L << 16 | 443);
            l.linkNode(i, 1, (long)servers[i] << 32 | (pool & 0xFFFFFFFFL), 6L << 32 | 443L << 16 | nat[i]);
        }
        int packets = 2 * n;
        long ring = U.allocateMemory((long)packets * RECORD);
        // the packets as PipelineBenchmark's: 40-byte ACKs built by PacketBuilder, a 20-byte record each
        final PacketBuilder builder = new PacketBuilder();
        final long scratch = builder.buffer().addressOffset();
        long r = 0x2545F4914F6CDD1DL;
        for (int k = 0; k < packets; k++)
        {
            r ^= r << 13;
            r ^= r >>> 7;
            r ^= r << 17;
            final int i = (int)Long.remainderUnsigned(r, n);
            if ((r & 1) != 0)
            {
                builder.tcp(0, servers[i], 443, pool, nat[i], TcpHeader.ACK, 2001, 6001, 0);
            }
            else
            {
                builder.tcp(0, clients[i], 40000, servers[i], 443, TcpHeader.ACK, 2001, 6001, 0);
            }
            final long record = ring + (long)k * RECORD;
            U.copyMemory(scratch + 12, record, 12);     // addresses, ports
            U.copyMemory(scratch + 4, record + 12, 2);  // identification
            U.copyMemory(scratch + 10, record + 14, 2); // IP checksum
            U.copyMemory(scratch + 36, record + 16, 2); // TCP checksum
        }
        final long[] batch = new long[BATCH];
        for (int j = 0; j < BATCH; j++)
        {
            batch[j] = U.allocateMemory(2048);
            U.copyMemory(scratch, batch[j], PACKET_LENGTH);
        }
        int position = 0, nrates = 0, nowMs = 0;
        double[] rates = new double[seconds + 1];
        long mark = System.nanoTime(), done = 0, marked = 0;
        while (nrates < seconds + 1)
        {
            for (int j = 0; j < BATCH; j++)
            {
                long rec = ring + (long)position * RECORD;
                position = position + 1 == packets ? 0 : position + 1;
                long p = batch[j];
                U.putLong(p + 12, U.getLong(rec)); U.putInt(p + 20, U.getInt(rec + 8));
                U.putShort(p + 4, U.getShort(rec + 12)); U.putShort(p + 10, U.getShort(rec + 14)); U.putShort(p + 36, U.getShort(rec + 16));
            }
            l.batch(batch, nowMs);
            done += BATCH;
            if ((done & 0xFFFF) == 0)
            {
                long t = System.nanoTime();
                if (t - mark >= 1_000_000_000L)
                {
                    rates[nrates++] = (done - marked) * 1000.0 / (t - mark);
                    mark = t; marked = done; nowMs += 1000;
                }
            }
        }
        if (l.dropped != 0) throw new IllegalStateException("dropped " + l.dropped);
        double[] m = Arrays.copyOfRange(rates, 1, rates.length);
        Arrays.sort(m);
        System.out.printf("lean_java connections=%d median=%.2f Mpps (found %d, sink %d)%n", n, m[m.length / 2], l.found, l.sink & 1);
    }
}
