package natgw.tun;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

import natgw.core.nat.ConnectionQueueHints;
import natgw.core.nat.KeptPortHints;
import org.agrona.concurrent.UnsafeBuffer;

import static natgw.tun.Native.EACCES;
import static natgw.tun.Native.EBUSY;
import static natgw.tun.Native.EINVAL;
import static natgw.tun.Native.ENODEV;
import static natgw.tun.Native.ENOENT;
import static natgw.tun.Native.ENXIO;
import static natgw.tun.Native.EPERM;

/**
 * A Linux multi-queue TUN device: {@code IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE}, one non-blocking fd per
 * queue, the kernel spreading flows over the queues by hash.
 * <p>
 * {@link #open} works in the network namespace of the <em>calling thread</em>: /dev/net/tun binds the device
 * to the namespace of whoever opens it, and the configuration socket is created there too. The fds then work
 * from any thread. A device that did not exist before {@link #open} is not made persistent, so the kernel
 * removes it when its last fd closes, even if the JVM is killed with SIGKILL; a device that existed before
 * (a persistent one, made by {@code ip tuntap add ... multi_queue}) is attached to and left in place.
 * <p>
 * Open sets the MTU and brings the link up with ioctl(2) on an AF_INET datagram socket (SIOCSIFMTU,
 * SIOCGIFFLAGS/SIOCSIFFLAGS), so no {@code ip} command is needed for the device itself; addresses and
 * routes are {@link HostNetwork}'s business.
 * <p>
 * With offloads ({@link #open(String, int, int, boolean, TunSteering, int[])}), every queue is opened with {@link #IFF_VNET_HDR}: a
 * 10-byte virtio-net header precedes each packet read and written, and TUNSETOFFLOAD asks the kernel for partial
 * checksums and TCP/UDP segmentation offload, falling back to the widest set the running kernel accepts
 * ({@link TunOffloads#REQUESTS}; USO needs Linux 6.2). The kernel then hands over GSO super-packets of up to
 * 64 KiB and segments what is written back, or passes it on whole.
 */
public final class LinuxTun implements TunDevice
{
    public static final int IFF_TUN = 0x0001;
    public static final int IFF_NO_PI = 0x1000;
    public static final int IFF_MULTI_QUEUE = 0x0100;
    /** Virtio-net header per packet (GSO/checksum offload). */
    public static final int IFF_VNET_HDR = 0x4000;
    /** struct virtio_net_hdr, without the num_buffers of the mergeable-buffers variant. */
    public static final int VNET_HEADER_LENGTH = 10;

    /** Linux interface names are at most 15 bytes: IFNAMSIZ is 16 with the terminating NUL. */
    public static final int MAX_NAME_LENGTH = 15;
    /** Kernel limit on queues per TUN device (MAX_TAP_QUEUES). */
    public static final int MAX_QUEUES = 256;
    public static final int MIN_MTU = 68;
    public static final int MAX_MTU = 65535;
    /** Packets one {@link TunQueue#read} returns at most: each is one read(2). */
    public static final int BATCH_SIZE = 64;

    public static final String CLONE_DEVICE = "/dev/net/tun";

    private static final long TUNSETIFF = 0x400454caL; // _IOW('T', 202, int)
    private static final long TUNSETOFFLOAD = 0x400454d0L; // _IOW('T', 208, unsigned int)
    private static final long TUNSETVNETHDRSZ = 0x400454d8L; // _IOW('T', 216, int)
    private static final long SIOCGIFFLAGS = 0x8913;
    private static final long SIOCSIFFLAGS = 0x8914;
    private static final long SIOCGIFMTU = 0x8921;
    private static final long SIOCSIFMTU = 0x8922;
    private static final long SIOCGIFINDEX = 0x8933;
    private static final short IFF_UP = 0x1;

    private static final int IFREQ_SIZE = 40; // struct ifreq: char ifr_name[16]; union { short flags; int mtu; ... }
    private static final int IFR_NAME_OFFSET = 0;
    private static final int IFR_DATA_OFFSET = 16;

    private final String name;
    private final LinuxTunQueue[] queues;
    private final int mtu;
    private final boolean createdHere;
    private final TunOffloads offloads;
    private final TunSteering steering;
    private final String steeringRefusal;
    private final SteeringMap steeringMap;
    private final KeptPortHints keptPortHints;
    private final ConnectionQueueHints connectionHints;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LinuxTun(
        final String name,
        final LinuxTunQueue[] queues,
        final int mtu,
        final boolean createdHere,
        final TunOffloads offloads,
        final TunSteering steering,
        final String steeringRefusal,
        final SteeringMap steeringMap)
    {
        this.name = name;
        this.queues = queues;
        this.mtu = mtu;
        this.createdHere = createdHere;
        this.offloads = offloads;
        this.steering = steering;
        this.steeringRefusal = steeringRefusal;
        this.steeringMap = steeringMap;
        this.keptPortHints = steeringMap == null || steering != TunSteering.FLOWS ? null : steeringMap.hints();
        this.connectionHints = steeringMap == null || steering != TunSteering.CONNECTIONS ? null :
            steeringMap.connectionHints(queues.length);
    }

    /**
     * Creates the TUN device {@code name}, or attaches to it if it exists, in the calling thread's network
     * namespace, with {@code queues} queues; sets its MTU and brings it up.
     *
     * @param name   interface name, at most 15 bytes; a kernel template such as {@code "ngw%d"} is allowed
     *               and {@link #name()} then gives the name the kernel chose.
     * @param queues 1 to {@value #MAX_QUEUES}.
     * @param mtu    {@value #MIN_MTU} to {@value #MAX_MTU}.
     * @throws IllegalArgumentException for a bad name, queue count or MTU, before any system call.
     * @throws TunException             naming the device and the errno when the kernel refuses.
     */
    public static LinuxTun open(final String name, final int queues, final int mtu)
    {
        return open(CLONE_DEVICE, name, queues, mtu, false, TunSteering.KERNEL, new int[0]);
    }

    /**
     * As {@link #open(String, int, int)}; with {@code offloads}, every packet carries a virtio-net header and the
     * device runs with the widest set of {@link TunOffloads#REQUESTS} the kernel accepts ({@link #offloads()}). The
     * queues are chosen by {@code steering}; {@code pool} (host-order addresses) tells {@link TunSteering#FLOWS} which
     * packets are replies to translated connections. A kernel that refuses the flows program (no mmap-able map before
     * Linux 5.5) gets the ports program; one that refuses that too (no bpf(2) in a container, say) keeps its own
     * steering: {@link #steering()} says which runs and {@link #steeringRefusal()} why.
     */
    public static LinuxTun open(
        final String name, final int queues, final int mtu, final boolean offloads, final TunSteering steering, final int[] pool)
    {
        return open(CLONE_DEVICE, name, queues, mtu, offloads, steering, pool);
    }

    static LinuxTun open(
        final String cloneDevice, final String name, final int queues, final int mtu, final boolean offloads, final TunSteering requestedSteering,
        final int[] pool)
    {
        validateName(name);
        if (queues < 1 || queues > MAX_QUEUES)
        {
            throw new IllegalArgumentException(
                "TUN device '" + name + "': " + queues + " queues requested, Linux allows 1 to " + MAX_QUEUES);
        }
        if (mtu < MIN_MTU || mtu > MAX_MTU)
        {
            throw new IllegalArgumentException(
                "TUN device '" + name + "': MTU " + mtu + " outside " + MIN_MTU + ".." + MAX_MTU);
        }

        final Native.LibC libc = Native.libc();
        final UnsafeBuffer ifreq = new UnsafeBuffer(ByteBuffer.allocateDirect(IFREQ_SIZE));
        final LinuxTunQueue[] opened = new LinuxTunQueue[queues];
        SteeringMap steeringMap = null;
        int ctl = -1;
        try
        {
            ctl = libc.socket(Native.AF_INET, Native.SOCK_DGRAM | Native.SOCK_CLOEXEC, 0);
            if (ctl < 0)
            {
                throw failure(name, "cannot create the AF_INET socket that configures TUN device '" + name + "'");
            }

            final boolean existed = name.indexOf('%') < 0 && exists(libc, ctl, ifreq, name);
            String actualName = name;
            for (int q = 0; q < queues; q++)
            {
                opened[q] = openQueue(libc, cloneDevice, actualName, q, ifreq, offloads);
                actualName = readName(ifreq); // the kernel writes back the name, resolving a "%d" template
            }
            final TunOffloads inForce = offloads ? negotiateOffloads(libc, opened[0].fd(), actualName, ifreq) : TunOffloads.NONE;
            TunSteering steering = TunSteering.KERNEL;
            String steeringRefusal = null;
            // each refusal falls back a step (flows needs a map and Linux 5.5; ports a program): run with what works,
            // and say so
            if (queues > ConnectionQueueHints.MAX_QUEUES && requestedSteering == TunSteering.CONNECTIONS)
            {
                steeringRefusal = "connections steering names at most " + ConnectionQueueHints.MAX_QUEUES + " queues, not " + queues;
            }
            else if (queues > 1 && requestedSteering == TunSteering.CONNECTIONS)
            {
                try
                {
                    steeringMap = SteeringMap.create(actualName, ConnectionQueueHints.BYTES);
                    PortSteeringProgram.attach(actualName, opened[0].fd(), PortSteeringProgram.connectionProgram(queues, steeringMap.fd()));
                    steering = TunSteering.CONNECTIONS;
                }
                catch (final TunException ex)
                {
                    if (steeringMap != null)
                    {
                        steeringMap.close();
                        steeringMap = null;
                    }
                    steeringRefusal = ex.getMessage();
                }
            }
            if (queues > 1 && requestedSteering == TunSteering.FLOWS)
            {
                try
                {
                    steeringMap = SteeringMap.create(actualName, KeptPortHints.SLOTS);
                    PortSteeringProgram.attach(actualName, opened[0].fd(), PortSteeringProgram.flowProgram(queues, pool, steeringMap.fd()));
                    steering = TunSteering.FLOWS;
                }
                catch (final TunException | IllegalArgumentException ex)
                {
                    if (steeringMap != null)
                    {
                        steeringMap.close();
                        steeringMap = null;
                    }
                    steeringRefusal = ex.getMessage();
                }
            }
            if (queues > 1 && requestedSteering != TunSteering.KERNEL && steering == TunSteering.KERNEL)
            {
                try
                {
                    PortSteeringProgram.attach(actualName, opened[0].fd(), PortSteeringProgram.program(queues));
                    steering = TunSteering.PORTS;
                }
                catch (final TunException ex)
                {
                    steeringRefusal = steeringRefusal == null ? ex.getMessage() : steeringRefusal + "; " + ex.getMessage();
                }
            }

            setMtu(libc, ctl, ifreq, actualName, mtu);
            bringUp(libc, ctl, ifreq, actualName);

            return new LinuxTun(actualName, opened, mtu, !existed, inForce, steering, steeringRefusal, steeringMap);
        }
        catch (final RuntimeException | Error ex)
        {
            if (steeringMap != null)
            {
                steeringMap.close();
            }
            for (final LinuxTunQueue queue : opened)
            {
                if (null != queue)
                {
                    queue.close();
                }
            }
            throw ex;
        }
        finally
        {
            if (ctl >= 0)
            {
                libc.close(ctl);
            }
        }
    }

    public String name()
    {
        return name;
    }

    public int queueCount()
    {
        return queues.length;
    }

    public TunQueue queue(final int index)
    {
        return queues[index];
    }

    public int mtu()
    {
        return mtu;
    }

    public boolean createdHere()
    {
        return createdHere;
    }

    public TunOffloads offloads()
    {
        return offloads;
    }

    public TunSteering steering()
    {
        return steering;
    }

    /**
     * With {@link TunSteering#FLOWS} in force, the hints its program reads, for the port search to write; else null.
     * Valid until {@link #close()}.
     */
    @Override
    public KeptPortHints keptPortHints()
    {
        return keptPortHints;
    }

    /**
     * With {@link TunSteering#CONNECTIONS} in force, the hints its program reads, for the workers to write; else null.
     * Valid until {@link #close()}.
     */
    @Override
    public ConnectionQueueHints connectionHints()
    {
        return connectionHints;
    }

    /** Why a steering program was asked for and the kernel's steering runs instead; null if it was not refused. */
    public String steeringRefusal()
    {
        return steeringRefusal;
    }

    /**
     * Closes every queue (waiting for calls in flight on other threads to return). The kernel then removes
     * the device if this process created it; a pre-existing device stays. Idempotent.
     */
    public void close()
    {
        if (closed.compareAndSet(false, true))
        {
            if (steering != TunSteering.KERNEL && !createdHere)
            {
                // a device that outlives this process goes back to the kernel's steering; one made here goes with it
                PortSteeringProgram.detach(queues[0].fd());
            }
            for (final LinuxTunQueue queue : queues)
            {
                queue.close();
            }
            if (steeringMap != null)
            {
                steeringMap.close(); // the workers that wrote hints have stopped: the device's owner stops them first
            }
        }
    }

    public String toString()
    {
        return "LinuxTun{" + name + ", queues=" + queues.length + ", mtu=" + mtu + ", createdHere=" + createdHere +
            ", offloads=" + offloads.names() + ", steering=" + steering.label() + "}";
    }

    static void validateName(final String name)
    {
        if (null == name || name.isEmpty())
        {
            throw new IllegalArgumentException("TUN device name is empty");
        }
        final int length = name.getBytes(StandardCharsets.UTF_8).length;
        if (length > MAX_NAME_LENGTH)
        {
            throw new IllegalArgumentException("TUN device name '" + name + "' is " + length +
                " bytes long; Linux allows at most " + MAX_NAME_LENGTH + " (IFNAMSIZ 16 with the NUL)");
        }
        if (".".equals(name) || "..".equals(name))
        {
            throw new IllegalArgumentException("TUN device name '" + name + "' is not a valid interface name");
        }
        for (int i = 0; i < name.length(); i++)
        {
            final char c = name.charAt(i);
            if (c == '/' || c == ':' || Character.isWhitespace(c) || c < 0x21 || c > 0x7e)
            {
                throw new IllegalArgumentException("TUN device name '" + name +
                    "' contains '" + c + "'; interface names are printable ASCII without '/', ':' or spaces");
            }
        }
    }

    private static LinuxTunQueue openQueue(
        final Native.LibC libc,
        final String cloneDevice,
        final String name,
        final int q,
        final UnsafeBuffer ifreq,
        final boolean vnetHeader)
    {
        final int fd = libc.open(cloneDevice, Native.O_RDWR | Native.O_NONBLOCK | Native.O_CLOEXEC);
        if (fd < 0)
        {
            final int errno = Native.errno();
            final String prefix = "cannot open " + cloneDevice + " for TUN device '" + name + "': " + Native.errnoText(errno);
            switch (errno)
            {
                case ENOENT:
                case ENODEV:
                case ENXIO:
                    throw new TunException(name, errno, prefix + "; the tun driver is missing: load it (modprobe tun)" +
                        " or, in a container, pass the device (--device /dev/net/tun)");
                case EPERM:
                case EACCES:
                    throw new TunException(name, errno, prefix + "; needs root or CAP_NET_ADMIN");
                default:
                    throw new TunException(name, errno, prefix);
            }
        }

        boolean ok = false;
        try
        {
            clear(ifreq);
            putName(ifreq, name);
            ifreq.putShort(IFR_DATA_OFFSET, (short)(IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnetHeader ? IFF_VNET_HDR : 0)));
            if (libc.ioctl(fd, TUNSETIFF, ifreq.addressOffset()) < 0)
            {
                final int errno = Native.errno();
                final String prefix = (0 == q ? "cannot create or attach TUN device '" : "cannot attach queue " + q +
                    " of TUN device '") + name + "' (TUNSETIFF): " + Native.errnoText(errno);
                switch (errno)
                {
                    case EPERM:
                    case EACCES:
                        throw new TunException(name, errno, prefix + "; needs root or CAP_NET_ADMIN" +
                            " (or, for a persistent device, to be the user or group that owns it)");
                    case EBUSY:
                        throw new TunException(name, errno, prefix +
                            "; another process holds the device (a single-queue TUN/TAP in use, or created exclusive)");
                    case EINVAL:
                        throw new TunException(name, errno, prefix + "; a device of that name exists but is not a " +
                            "multi-queue TUN (a TAP, a single-queue TUN or another kind of link), or the name is invalid");
                    default:
                        throw new TunException(name, errno, prefix);
                }
            }

            final int eventFd = libc.eventfd(0, Native.EFD_NONBLOCK | Native.EFD_CLOEXEC);
            if (eventFd < 0)
            {
                throw failure(name, "cannot create the wakeup eventfd of TUN device '" + name + "' queue " + q);
            }
            ok = true;
            return new LinuxTunQueue(name, q, fd, eventFd, BATCH_SIZE);
        }
        finally
        {
            if (!ok)
            {
                libc.close(fd);
            }
        }
    }

    /**
     * Sets the virtio-net header size and the widest offload set the kernel takes (the device's features; one
     * queue's fd sets them for all). A kernel that refuses every set still leaves the header on: packets then
     * come whole, with an all-zero header.
     */
    private static TunOffloads negotiateOffloads(
        final Native.LibC libc, final int fd, final String name, final UnsafeBuffer ifreq)
    {
        clear(ifreq);
        ifreq.putInt(0, VNET_HEADER_LENGTH);
        if (libc.ioctl(fd, TUNSETVNETHDRSZ, ifreq.addressOffset()) < 0)
        {
            throw failure(name, "cannot set the virtio-net header size of TUN device '" + name + "' (TUNSETVNETHDRSZ)");
        }
        for (final int request : TunOffloads.REQUESTS)
        {
            if (libc.ioctl(fd, TUNSETOFFLOAD, request) == 0)
            {
                return new TunOffloads(true, request);
            }
            final int errno = Native.errno();
            if (EINVAL != errno)
            {
                throw new TunException(name, errno, "cannot set offloads on TUN device '" + name + "' (TUNSETOFFLOAD): " +
                    Native.errnoText(errno));
            }
        }
        return new TunOffloads(true, 0);
    }

    private static boolean exists(final Native.LibC libc, final int ctl, final UnsafeBuffer ifreq, final String name)
    {
        // Not /sys/class/net: sysfs shows the namespace of whoever mounted /sys, not the calling thread's.
        clear(ifreq);
        putName(ifreq, name);
        if (libc.ioctl(ctl, SIOCGIFINDEX, ifreq.addressOffset()) == 0)
        {
            return true;
        }
        final int errno = Native.errno();
        if (ENODEV == errno)
        {
            return false;
        }
        throw new TunException(name, errno, "cannot look up device '" + name + "' (SIOCGIFINDEX): " + Native.errnoText(errno));
    }

    private static void setMtu(
        final Native.LibC libc, final int ctl, final UnsafeBuffer ifreq, final String name, final int mtu)
    {
        clear(ifreq);
        putName(ifreq, name);
        if (libc.ioctl(ctl, SIOCGIFMTU, ifreq.addressOffset()) == 0 && ifreq.getInt(IFR_DATA_OFFSET) == mtu)
        {
            return;
        }
        clear(ifreq);
        putName(ifreq, name);
        ifreq.putInt(IFR_DATA_OFFSET, mtu);
        if (libc.ioctl(ctl, SIOCSIFMTU, ifreq.addressOffset()) < 0)
        {
            throw failure(name, "cannot set MTU " + mtu + " on TUN device '" + name + "' (SIOCSIFMTU)");
        }
    }

    private static void bringUp(final Native.LibC libc, final int ctl, final UnsafeBuffer ifreq, final String name)
    {
        clear(ifreq);
        putName(ifreq, name);
        if (libc.ioctl(ctl, SIOCGIFFLAGS, ifreq.addressOffset()) < 0)
        {
            throw failure(name, "cannot read the flags of TUN device '" + name + "' (SIOCGIFFLAGS)");
        }
        final short flags = ifreq.getShort(IFR_DATA_OFFSET);
        if ((flags & IFF_UP) != 0)
        {
            return;
        }
        ifreq.putShort(IFR_DATA_OFFSET, (short)(flags | IFF_UP));
        if (libc.ioctl(ctl, SIOCSIFFLAGS, ifreq.addressOffset()) < 0)
        {
            throw failure(name, "cannot bring TUN device '" + name + "' up (SIOCSIFFLAGS)");
        }
    }

    private static TunException failure(final String name, final String what)
    {
        final int errno = Native.errno();
        final String hint = EPERM == errno || EACCES == errno ? "; needs root or CAP_NET_ADMIN" : "";
        return new TunException(name, errno, what + ": " + Native.errnoText(errno) + hint);
    }

    private static void clear(final UnsafeBuffer ifreq)
    {
        ifreq.setMemory(0, IFREQ_SIZE, (byte)0);
    }

    private static void putName(final UnsafeBuffer ifreq, final String name)
    {
        final byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        ifreq.putBytes(IFR_NAME_OFFSET, bytes);
        ifreq.putByte(IFR_NAME_OFFSET + bytes.length, (byte)0);
    }

    private static String readName(final UnsafeBuffer ifreq)
    {
        final byte[] bytes = new byte[MAX_NAME_LENGTH + 1];
        ifreq.getBytes(IFR_NAME_OFFSET, bytes);
        int length = 0;
        while (length < bytes.length && bytes[length] != 0)
        {
            length++;
        }
        return new String(Arrays.copyOf(bytes, length), StandardCharsets.US_ASCII);
    }
}
