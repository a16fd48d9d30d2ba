package natgw.tun;

import natgw.core.nat.ConnectionQueueHints;
import natgw.core.nat.KeptPortHints;

/**
 * A TUN device with one or more queues (IFF_MULTI_QUEUE: one fd per queue, the kernel spreads flows
 * over them by hash). Closing it closes every queue and, if this process created the device, removes it.
 * <p>
 * Implementations: {@link LinuxTun}, the real device; {@link ChannelTun}, an in-memory double for tests.
 */
public interface TunDevice extends AutoCloseable
{
    /** Interface name, as the kernel knows it. */
    String name();

    int queueCount();

    /** Queue {@code index}, 0 to {@code queueCount() - 1}; each is meant for one worker thread. */
    TunQueue queue(int index);

    int mtu();

    /** True if this process created the device (and so removes it on close). */
    boolean createdHere();

    /** The offloads it runs with: with a virtio-net header, every packet read and written starts with one. */
    TunOffloads offloads();

    /** How packets are spread over the queues. */
    default TunSteering steering()
    {
        return TunSteering.KERNEL;
    }

    /** With {@link TunSteering#FLOWS} in force, the hints its steering program reads; else null. */
    default KeptPortHints keptPortHints()
    {
        return null;
    }

    /** With {@link TunSteering#CONNECTIONS} in force, the hints its steering program reads; else null. */
    default ConnectionQueueHints connectionHints()
    {
        return null;
    }

    /** Closes every queue; idempotent, callable from any thread. */
    @Override
    void close();
}
