package natgw.tun;

/**
 * A TUN device with one or more queues (IFF_MULTI_QUEUE: one fd per queue, the kernel spreads flows
 * over them by hash). Closing it closes every queue and, if this process created the device, removes it.
 */
public interface TunDevice extends AutoCloseable
{
    String name();

    int queueCount();

    TunQueue queue(int index);

    int mtu();

    /** True if this process created the device (and so removes it on close). */
    boolean createdHere();

    @Override
    void close();
}
