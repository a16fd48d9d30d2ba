package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;

import natgw.perf.load.ServiceBackend;
import natgw.tun.lab.JavaCommand;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

/**
 * The backends of the DNAT scenarios, in the server namespace: backend i has its own address
 * ({@link Lab#backendAddress(int)}, added to {@code s0}) and its own {@link ServiceBackend} process (id i + 1) listening
 * on TCP {@link #TCP_PORT} and UDP {@link #UDP_PORT} of that address. A backend can be taken away (process stopped,
 * address deleted: gone as a deleted pod is) and brought back; closing removes everything.
 */
final class ServiceBackends implements AutoCloseable
{
    static final int TCP_PORT = 7000;
    static final int UDP_PORT = 53;

    private final BenchContext context;
    private final LabProcess[] processes;
    private final int[] starts;

    private ServiceBackends(final BenchContext context, final int count)
    {
        this.context = context;
        this.processes = new LabProcess[count];
        this.starts = new int[count];
    }

    /** Adds the addresses and starts the backends; on failure, removes what it added. */
    static ServiceBackends start(final BenchContext context, final int count) throws InterruptedException
    {
        if (count < 1 || count > Lab.MAX_BACKENDS)
        {
            throw new IllegalArgumentException("--backends must be 1.." + Lab.MAX_BACKENDS + ", not " + count);
        }
        final ServiceBackends backends = new ServiceBackends(context, count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                backends.restore(i);
            }
        }
        catch (final RuntimeException | InterruptedException e)
        {
            backends.close();
            throw e;
        }
        return backends;
    }

    int count()
    {
        return processes.length;
    }

    /** {@code ADDR:PORT} of every backend, in id order. */
    List<String> endpoints(final int port)
    {
        final List<String> endpoints = new ArrayList<>();
        for (int i = 0; i < processes.length; i++)
        {
            endpoints.add(Lab.backendAddress(i) + ":" + port);
        }
        return endpoints;
    }

    /** Backend i is gone: its process stopped, its address deleted. */
    void remove(final int i)
    {
        if (processes[i] != null)
        {
            processes[i].stop(2_000);
            processes[i] = null;
        }
        context.lab().exec(Role.SERVER, "ip", "addr", "del", Lab.backendAddress(i) + "/24", "dev", Lab.SERVER_IF);
    }

    /** Backend i is there (again): address added, process started and ready. */
    void restore(final int i) throws InterruptedException
    {
        if (processes[i] != null && processes[i].isAlive())
        {
            return;
        }
        final Lab lab = context.lab();
        final String address = Lab.backendAddress(i);
        lab.exec(Role.SERVER, "ip", "addr", "replace", address + "/24", "dev", Lab.SERVER_IF).orThrow();
        // a neighbour entry left FAILED while the address was away would delay the first packets to it
        lab.exec(Role.GW, "ip", "neigh", "flush", "to", address);
        final LabProcess process = lab.start(Role.SERVER, JavaCommand.of(List.of("-Xmx96m", "-XX:TieredStopAtLevel=1"),
            ServiceBackend.class.getName(), List.of("--bind", address, "--id", String.valueOf(i + 1),
                "--tcp-port", String.valueOf(TCP_PORT), "--udp-port", String.valueOf(UDP_PORT))),
            context.logsDir().resolve("backend-" + (i + 1) + (starts[i]++ == 0 ? "" : "." + starts[i]) + ".log"), null);
        if (!process.awaitLine(line -> line.startsWith(ServiceBackend.READY), 30_000))
        {
            process.stop(1_000);
            throw new IllegalStateException("backend " + (i + 1) + " did not start on " + address + ": " +
                process.tail(5));
        }
        processes[i] = process;
    }

    @Override
    public void close()
    {
        for (int i = 0; i < processes.length; i++)
        {
            remove(i);
        }
    }
}
