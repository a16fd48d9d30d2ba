package natgw.tun;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import natgw.core.flow.QueueSteering;
import natgw.core.nat.ConnectionQueueHints;
import natgw.core.nat.KeptPortHints;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The eBPF programs of {@link TunSteering#PORTS}, {@link TunSteering#FLOWS} and {@link TunSteering#CONNECTIONS}: a
 * socket filter the TUN runs for each packet it queues for reading (TUNSETSTEERINGEBPF); its return value modulo the
 * queues is the queue. Loaded with
 * bpf(2) BPF_PROG_LOAD from instructions written here, with the classic packet loads (LD_ABS, LD_IND) a socket filter
 * may use: the packet starts at its IP header, as a TUN has no link layer.
 */
final class PortSteeringProgram
{
    static final long SYS_BPF = Native.syscallNumber(321, 280);
    private static final int BPF_PROG_LOAD = 5;
    private static final int BPF_PROG_TYPE_SOCKET_FILTER = 1;
    private static final long TUNSETSTEERINGEBPF = 0x800454e0L; // _IOR('T', 224, int)
    private static final int ATTR_SIZE = 72; // union bpf_attr up to prog_ifindex, expected_attach_type
    private static final int LOG_SIZE = 1 << 16;

    /** Ranges of pool addresses a flow program tests one by one (2 instructions each). */
    static final int MAX_POOL_RANGES = 256;

    /**
     * The program of {@link TunSteering#PORTS} for {@code queues} queues: for unfragmented TCP and UDP (and first
     * fragments) a hash of the sum of the ports ({@link QueueSteering#queue}), which NAT leaves alone when it keeps the
     * port, so a connection's replies come to its original's queue; a TCP SYN (without ACK) adds both addresses, so that
     * clients that open connections from one port to one server at once (incident 1) spread over the queues. Else
     * (ICMP, later fragments) the addresses' exclusive or. The program takes the modulo itself, as the port search
     * that aims a translated port's replies at a queue computes it (NatAllocator.steeredQueues): the TUN keeps only
     * 16 bits of what it returns (tun_ebpf_select_queue).
     */
    static long[] program(final int queues)
    {
        return build(queues, null, -1);
    }

    /**
     * The program of {@link TunSteering#FLOWS}: as {@link #program}, but a TCP or UDP packet adds both addresses unless
     * it goes to the pool or the hints say its endpoint kept its port. So a connection's SYN, and the original
     * direction of a connection whose port NAT chose, go to the queue of their flow, spread as the kernel's flow hash
     * spreads them (many clients' connections from one port to one server too), and the search aims the chosen port's
     * replies there; a connection that kept its port has its replies summed as its originals and both go there. The
     * pool is tested as ranges with 32-bit unsigned jumps (BPF_JMP32, Linux 5.1); the hint is byte
     * {@link KeptPortHints#slot} of {@code hintsMapFd}'s value, read by direct value access (Linux 5.2).
     *
     * @param pool the NAT pool's addresses, host order; at most {@value #MAX_POOL_RANGES} ranges of consecutive ones.
     */
    static long[] flowProgram(final int queues, final int[] pool, final int hintsMapFd)
    {
        return build(queues, ranges(pool), hintsMapFd);
    }

    /**
     * The program of {@link TunSteering#CONNECTIONS}: a TCP or UDP packet (or first fragment) by the hint in its tuple's
     * slot of {@code hintsMapFd}'s value ({@link ConnectionQueueHints}: a 16-bit word per slot of the 16-bit hash of
     * the sum of its ports and addresses, {@link QueueSteering#flowHash}) when the word's tag is the packet's, hint - 1;
     * else that hash modulo the queues (the flow's queue, the same both ways for a connection NAT left alone). Anything
     * else as {@link #program}: the addresses' exclusive or. Direct value access needs Linux 5.2, the mmap-able map 5.5.
     */
    static long[] connectionProgram(final int queues, final int hintsMapFd)
    {
        final List<Long> insns = new ArrayList<>();
        final int[] toAddresses = portsPrologue(insns);
        insns.add(insn(0x48, 0, 7, 0, 0));        // r0 = ip[r7:2] (source port)
        insns.add(insn(0xbf, 8, 0, 0, 0));        // r8 = r0
        insns.add(insn(0x48, 0, 7, 0, 2));        // r0 = ip[r7 + 2:2] (destination port)
        insns.add(insn(0x0f, 8, 0, 0, 0));        // r8 += r0
        insns.add(insn(0x20, 0, 0, 0, 12));       // r0 = ip[12:4] (source address)
        insns.add(insn(0x0f, 8, 0, 0, 0));        // r8 += r0
        insns.add(insn(0x20, 0, 0, 0, 16));       // r0 = ip[16:4] (destination address)
        insns.add(insn(0x0f, 8, 0, 0, 0));        // r8 += r0
        insns.add(insn(0xbc, 0, 8, 0, 0));        // w0 = w8
        insns.add(insn(0x24, 0, 0, 0, QueueSteering.MULTIPLIER)); // w0 *= multiplier (the product)
        insns.add(insn(0xbc, 9, 0, 0, 0));        // w9 = w0
        insns.add(insn(0x74, 0, 0, 0, 16));       // w0 >>= 16 (the slot)
        insns.add(insn(0x57, 0, 0, 0, 0xFFFF));   // r0 &= slots - 1 (the verifier's bound)
        insns.add(insn(0x67, 0, 0, 0, 1));        // r0 <<= 1 (its word's offset)
        insns.add(insn(0x18, 1, 2, 0, hintsMapFd)); // r1 = the map's value (BPF_PSEUDO_MAP_VALUE), 2 slots:
        insns.add(insn(0x00, 0, 0, 0, 0));        //     offset 0 in the value
        insns.add(insn(0x0f, 1, 0, 0, 0));        // r1 += r0
        insns.add(insn(0x69, 0, 1, 0, 0));        // r0 = *(u16 *)r1 (the hint: tag << 8 | queue + 1)
        final int noHint = insns.size();
        insns.add(insn(0x15, 0, 0, 0, 0));        // if r0 == 0 goto flow
        insns.add(insn(0xbc, 2, 0, 0, 0));        // w2 = w0
        insns.add(insn(0x74, 2, 0, 0, 8));        // w2 >>= 8 (the hint's tag)
        insns.add(insn(0xbc, 3, 9, 0, 0));        // w3 = w9
        insns.add(insn(0x74, 3, 0, 0, 8));        // w3 >>= 8
        insns.add(insn(0x54, 3, 0, 0, 0xFF));     // w3 &= 0xFF (the packet's tag)
        final int otherTag = insns.size();
        insns.add(insn(0x5d, 2, 3, 0, 0));        // if r2 != r3 goto flow (another tuple's hint)
        insns.add(insn(0x54, 0, 0, 0, 0xFF));     // w0 &= 0xFF
        insns.add(insn(0x04, 0, 0, 0, -1));       // w0 += -1
        insns.add(insn(0x95, 0, 0, 0, 0));        // return r0
        final int flow = insns.size();
        insns.add(insn(0xbc, 0, 9, 0, 0));        // flow: w0 = w9
        insns.add(insn(0x74, 0, 0, 0, 16));       // w0 >>= 16
        insns.add(insn(0x94, 0, 0, 0, queues));   // w0 %= queues
        insns.add(insn(0x95, 0, 0, 0, 0));        // return r0
        addresses(insns, toAddresses, queues);
        jump(insns, noHint, flow);
        jump(insns, otherTag, flow);
        return insns.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Either program: {@code ranges} null for {@link #program}. A jump to a label further down is written with offset
     * 0 and given its offset once the label's place is known ({@link #jump}).
     */
    private static long[] build(final int queues, final long[] ranges, final int hintsMapFd)
    {
        final List<Long> insns = new ArrayList<>();
        final int[] toAddresses = portsPrologue(insns);
        insns.add(insn(0x48, 0, 7, 0, 0));        // r0 = ip[r7:2] (source port)
        insns.add(insn(0xbf, 9, 0, 0, 0));        // r9 = r0
        insns.add(insn(0xbf, 8, 0, 0, 0));        // r8 = r0
        insns.add(insn(0x48, 0, 7, 0, 2));        // r0 = ip[r7 + 2:2] (destination port)
        insns.add(insn(0x0f, 8, 0, 0, 0));        // r8 += r0
        insns.add(insn(0x30, 0, 0, 0, 9));        // r0 = ip[9] (protocol)
        final int notTcp = insns.size();
        insns.add(insn(0x55, 0, 0, 0, 6));        // if r0 != TCP goto ports
        insns.add(insn(0x50, 0, 7, 0, 13));       // r0 = ip[r7 + 13] (TCP flags)
        insns.add(insn(0x57, 0, 0, 0, 0x12));     // r0 &= SYN | ACK
        final int syn = insns.size();
        insns.add(insn(0x15, 0, 0, 0, 0x02));     // if r0 == SYN goto flow
        final int ports = insns.size();
        final List<Integer> toSum = new ArrayList<>();
        if (ranges == null)
        {
            toSum.add(insns.size());
            insns.add(insn(0x05, 0, 0, 0, 0));    // ports: goto sum
        }
        else
        {
            insns.add(insn(0x20, 0, 0, 0, 16));   // ports: r0 = ip[16:4] (destination address)
            for (final long range : ranges)
            {
                insns.add(insn(0xa6, 0, 0, 1, (int)(range >>> 32)));  // if w0 < low goto +1 (the next range)
                toSum.add(insns.size());
                insns.add(insn(0xb6, 0, 0, 0, (int)range));           // if w0 <= high goto sum
            }
            insns.add(insn(0x20, 0, 0, 0, 12));   // r0 = ip[12:4] (source address)
            insns.add(insn(0x27, 0, 0, 0, QueueSteering.MULTIPLIER)); // r0 *= multiplier
            insns.add(insn(0x0f, 0, 9, 0, 0));    // r0 += r9 (source port)
            insns.add(insn(0x57, 0, 0, 0, 0xFFFF)); // r0 &= slots - 1
            insns.add(insn(0x18, 1, 2, 0, hintsMapFd)); // r1 = the map's value (BPF_PSEUDO_MAP_VALUE), 2 slots:
            insns.add(insn(0x00, 0, 0, 0, 0));    //     offset 0 in the value
            insns.add(insn(0x0f, 1, 0, 0, 0));    // r1 += r0
            insns.add(insn(0x71, 0, 1, 0, 0));    // r0 = *(u8 *)r1 (the hint)
            toSum.add(insns.size());
            insns.add(insn(0x55, 0, 0, 0, 0));    // if r0 != 0 goto sum (the endpoint kept its port)
        }
        final int flow = insns.size();
        insns.add(insn(0x20, 0, 0, 0, 12));       // flow: r0 = ip[12:4] (source address)
        insns.add(insn(0x0f, 8, 0, 0, 0));        // r8 += r0
        insns.add(insn(0x20, 0, 0, 0, 16));       // r0 = ip[16:4] (destination address)
        insns.add(insn(0x0f, 8, 0, 0, 0));        // r8 += r0
        final int sum = insns.size();
        insns.add(insn(0xbc, 0, 8, 0, 0));        // sum: w0 = w8
        insns.add(insn(0x24, 0, 0, 0, QueueSteering.MULTIPLIER)); // w0 *= multiplier
        insns.add(insn(0x74, 0, 0, 0, 16));       // w0 >>= 16
        insns.add(insn(0x94, 0, 0, 0, queues));   // w0 %= queues
        insns.add(insn(0x95, 0, 0, 0, 0));        // return r0
        addresses(insns, toAddresses, queues);

        jump(insns, notTcp, ports);
        jump(insns, syn, flow);
        for (final int at : toSum)
        {
            jump(insns, at, sum);
        }
        final long[] program = new long[insns.size()];
        for (int i = 0; i < program.length; i++)
        {
            program[i] = insns.get(i);
        }
        return program;
    }

    /**
     * The start of every program: r6 = the skb; a packet other than TCP or UDP, or a later fragment (no ports), jumps
     * to {@link #addresses}; else r7 = the IP header's length. Returns the two jumps, for {@link #addresses} to set.
     */
    private static int[] portsPrologue(final List<Long> insns)
    {
        insns.add(insn(0xbf, 6, 1, 0, 0));        // r6 = r1 (the skb, as LD_ABS needs it)
        insns.add(insn(0x30, 0, 0, 0, 9));        // r0 = ip[9] (protocol)
        insns.add(insn(0x15, 0, 0, 2, 6));        // if r0 == TCP goto +2
        insns.add(insn(0x15, 0, 0, 1, 17));       // if r0 == UDP goto +1
        final int toAddresses = insns.size();
        insns.add(insn(0x05, 0, 0, 0, 0));        // goto addresses
        insns.add(insn(0x28, 0, 0, 0, 6));        // r0 = ip[6:2] (flags, fragment offset)
        insns.add(insn(0x57, 0, 0, 0, 0x1FFF));   // r0 &= offset
        final int laterFragment = insns.size();
        insns.add(insn(0x55, 0, 0, 0, 0));        // if r0 != 0 goto addresses (no ports in a later fragment)
        insns.add(insn(0x30, 0, 0, 0, 0));        // r0 = ip[0]
        insns.add(insn(0x57, 0, 0, 0, 0x0F));     // r0 &= ihl
        insns.add(insn(0x67, 0, 0, 0, 2));        // r0 <<= 2
        insns.add(insn(0xbf, 7, 0, 0, 0));        // r7 = r0 (header length)
        return new int[] {toAddresses, laterFragment};
    }

    /** The end of every program: the addresses' exclusive or modulo the queues; {@code jumps} (the prologue's) land here. */
    private static void addresses(final List<Long> insns, final int[] jumps, final int queues)
    {
        final int addresses = insns.size();
        insns.add(insn(0x20, 0, 0, 0, 12));       // addresses: r0 = ip[12:4] (source address)
        insns.add(insn(0xbf, 8, 0, 0, 0));        // r8 = r0
        insns.add(insn(0x20, 0, 0, 0, 16));       // r0 = ip[16:4] (destination address)
        insns.add(insn(0xaf, 0, 8, 0, 0));        // r0 ^= r8
        insns.add(insn(0x97, 0, 0, 0, queues));   // r0 %= queues
        insns.add(insn(0x95, 0, 0, 0, 0));        // return r0
        for (final int at : jumps)
        {
            jump(insns, at, addresses);
        }
    }

    /** Sets the offset of the jump at {@code at} so that it lands on instruction {@code target}. */
    private static void jump(final List<Long> insns, final int at, final int target)
    {
        insns.set(at, insns.get(at) & ~(0xFFFFL << 16) | ((target - at - 1) & 0xFFFFL) << 16);
    }

    /** The pool as ranges of consecutive addresses, each low << 32 | high, in unsigned order. */
    static long[] ranges(final int[] pool)
    {
        final long[] sorted = new long[pool.length];
        for (int i = 0; i < pool.length; i++)
        {
            sorted[i] = pool[i] & 0xFFFF_FFFFL;
        }
        Arrays.sort(sorted);
        final List<Long> ranges = new ArrayList<>();
        int i = 0;
        while (i < sorted.length)
        {
            final long low = sorted[i];
            long high = low;
            while (++i < sorted.length && sorted[i] <= high + 1)
            {
                high = sorted[i];
            }
            ranges.add(low << 32 | high);
        }
        if (ranges.size() > MAX_POOL_RANGES)
        {
            throw new IllegalArgumentException("a pool of " + ranges.size() + " separate address ranges; flow steering " +
                "takes at most " + MAX_POOL_RANGES);
        }
        return ranges.stream().mapToLong(Long::longValue).toArray();
    }

    private PortSteeringProgram()
    {
    }

    /**
     * Loads {@code program} ({@link #program}, {@link #flowProgram} or {@link #connectionProgram}) and sets it on the device of {@code queueFd} (one
     * queue's fd sets it for all).
     *
     * @throws TunException naming the device and errno if the kernel refuses the program or the ioctl.
     */
    static void attach(final String device, final int queueFd, final long[] program)
    {
        final Native.LibC libc = Native.libc();
        final UnsafeBuffer insns = new UnsafeBuffer(ByteBuffer.allocateDirect(program.length * 8).order(ByteOrder.LITTLE_ENDIAN));
        for (int i = 0; i < program.length; i++)
        {
            insns.putLong(i * 8, program[i], ByteOrder.LITTLE_ENDIAN);
        }
        final UnsafeBuffer license = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        license.putStringWithoutLengthAscii(0, "GPL");
        license.putByte(3, (byte)0);
        final UnsafeBuffer log = new UnsafeBuffer(ByteBuffer.allocateDirect(LOG_SIZE));
        final UnsafeBuffer attr = new UnsafeBuffer(ByteBuffer.allocateDirect(ATTR_SIZE));
        attr.setMemory(0, ATTR_SIZE, (byte)0);
        attr.putInt(0, BPF_PROG_TYPE_SOCKET_FILTER, ByteOrder.LITTLE_ENDIAN);
        attr.putInt(4, program.length, ByteOrder.LITTLE_ENDIAN);
        attr.putLong(8, insns.addressOffset(), ByteOrder.LITTLE_ENDIAN);
        attr.putLong(16, license.addressOffset(), ByteOrder.LITTLE_ENDIAN);
        final byte[] name = "natgw_steer".getBytes(StandardCharsets.US_ASCII);
        attr.putBytes(48, name);
        int prog = (int)libc.syscall(SYS_BPF, BPF_PROG_LOAD, attr.addressOffset(), ATTR_SIZE, 0, 0, 0);
        if (prog < 0)
        {
            // again with the verifier's log, to say why: a log too small for a program it accepts would fail the load
            attr.putInt(24, 1, ByteOrder.LITTLE_ENDIAN);
            attr.putInt(28, LOG_SIZE, ByteOrder.LITTLE_ENDIAN);
            attr.putLong(32, log.addressOffset(), ByteOrder.LITTLE_ENDIAN);
            prog = (int)libc.syscall(SYS_BPF, BPF_PROG_LOAD, attr.addressOffset(), ATTR_SIZE, 0, 0, 0);
        }
        if (prog < 0)
        {
            final int errno = Native.errno();
            throw new TunException(device, errno, "cannot load the queue steering program of TUN device '" + device +
                "' (bpf BPF_PROG_LOAD): " + Native.errnoText(errno) + verifierLog(log));
        }
        try
        {
            final UnsafeBuffer fd = new UnsafeBuffer(ByteBuffer.allocateDirect(4));
            fd.putInt(0, prog);
            if (libc.ioctl(queueFd, TUNSETSTEERINGEBPF, fd.addressOffset()) < 0)
            {
                final int errno = Native.errno();
                throw new TunException(device, errno, "cannot set the queue steering program of TUN device '" + device +
                    "' (TUNSETSTEERINGEBPF): " + Native.errnoText(errno));
            }
        }
        finally
        {
            libc.close(prog); // the device holds its own reference
        }
    }

    /**
     * Takes the program off the device of {@code queueFd} (TUNSETSTEERINGEBPF with -1), so that a device this process
     * did not create goes back to the kernel's steering; false if the kernel refused.
     */
    static boolean detach(final int queueFd)
    {
        final UnsafeBuffer fd = new UnsafeBuffer(ByteBuffer.allocateDirect(4));
        fd.putInt(0, -1);
        return Native.libc().ioctl(queueFd, TUNSETSTEERINGEBPF, fd.addressOffset()) == 0;
    }

    private static String verifierLog(final UnsafeBuffer log)
    {
        int length = 0;
        while (length < LOG_SIZE && log.getByte(length) != 0)
        {
            length++;
        }
        return length == 0 ? "" : "; verifier: " + log.getStringWithoutLengthAscii(0, length).strip();
    }

    private static long insn(final int code, final int dst, final int src, final int off, final int imm)
    {
        return (code & 0xFFL) | (long)(src << 4 | dst) << 8 | (off & 0xFFFFL) << 16 | (imm & 0xFFFF_FFFFL) << 32;
    }
}
