package natgw.tun;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import natgw.core.nat.ConnectionQueueHints;
import natgw.core.nat.KeptPortHints;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The memory natgw shares with a steering program (flows, connections): a BPF array map of one value (the hints),
 * created mmap-able (BPF_F_MMAPABLE, Linux 5.5) and mapped into this process, so that a worker writes a hint
 * with a plain store, no system call; the program reads the same bytes by direct value access.
 */
final class SteeringMap implements AutoCloseable
{
    private static final int BPF_MAP_CREATE = 0;
    private static final int BPF_MAP_TYPE_ARRAY = 2;
    private static final int BPF_F_MMAPABLE = 1 << 10;
    private static final int ATTR_SIZE = 72; // union bpf_attr's map-create part up to map_name

    private final int fd;
    private final long address;
    private final int size;
    private final UnsafeBuffer buffer;

    private SteeringMap(final int fd, final long address, final int size)
    {
        this.size = size;
        this.fd = fd;
        this.address = address;
        this.buffer = new UnsafeBuffer(address, size);
    }

    /** @throws TunException naming the device and errno if the kernel refuses the map or its mapping. */
    static SteeringMap create(final String device, final int size)
    {
        final Native.LibC libc = Native.libc();
        final UnsafeBuffer attr = new UnsafeBuffer(ByteBuffer.allocateDirect(ATTR_SIZE));
        attr.setMemory(0, ATTR_SIZE, (byte)0);
        attr.putInt(0, BPF_MAP_TYPE_ARRAY, ByteOrder.LITTLE_ENDIAN);
        attr.putInt(4, 4, ByteOrder.LITTLE_ENDIAN);                       // key size
        attr.putInt(8, size, ByteOrder.LITTLE_ENDIAN);                    // value size
        attr.putInt(12, 1, ByteOrder.LITTLE_ENDIAN);                      // entries
        attr.putInt(16, BPF_F_MMAPABLE, ByteOrder.LITTLE_ENDIAN);
        attr.putBytes(28, "natgw_hints".getBytes(StandardCharsets.US_ASCII)); // map_name, after inner_map_fd, numa_node
        final int fd = (int)libc.syscall(PortSteeringProgram.SYS_BPF, BPF_MAP_CREATE, attr.addressOffset(), ATTR_SIZE, 0, 0, 0);
        if (fd < 0)
        {
            final int errno = Native.errno();
            throw new TunException(device, errno, "cannot create the steering map of TUN device '" + device +
                "' (bpf BPF_MAP_CREATE, mmap-able array): " + Native.errnoText(errno));
        }
        final long address = Native.mmap(0, size, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, fd, 0);
        if (address == Native.MAP_FAILED)
        {
            final int errno = Native.errno();
            libc.close(fd);
            throw new TunException(device, errno, "cannot map the steering map of TUN device '" + device + "': " +
                Native.errnoText(errno));
        }
        return new SteeringMap(fd, address, size);
    }

    /** The map's fd, for the program's direct value access. */
    int fd()
    {
        return fd;
    }

    /** The hints over the mapped value. */
    KeptPortHints hints()
    {
        return new KeptPortHints(buffer);
    }

    /** The connections program's hints over the mapped value, for a TUN of {@code queues} queues. */
    ConnectionQueueHints connectionHints(final int queues)
    {
        return new ConnectionQueueHints(buffer, queues);
    }

    /** Unmaps and closes the fd (a program that holds the map keeps it). Only once no worker writes hints. */
    public void close()
    {
        Native.munmap(address, size);
        Native.libc().close(fd);
    }
}
