package natgw.perf.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import natgw.perf.sys.NatgwCommand;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/** What every scenario and implementation of one run share: the lab, the output directory, options. */
public final class BenchContext
{
    private final Lab lab;
    private final Path outDir;
    private final BenchOptions options;
    private final Progress progress;
    private List<String> natgwCommand;
    private volatile List<LabService> services = List.of();
    private volatile String natPorts;
    private volatile Implementation.Session session;

    public BenchContext(final Lab lab, final Path outDir, final BenchOptions options, final Progress progress)
    {
        this.lab = lab;
        this.outDir = outDir;
        this.options = options;
        this.progress = progress;
    }

    public Lab lab()
    {
        return lab;
    }

    public Path outDir()
    {
        return outDir;
    }

    public Path logsDir()
    {
        final Path logs = outDir.resolve("logs");
        try
        {
            Files.createDirectories(logs);
        }
        catch (final java.io.IOException e)
        {
            throw new java.io.UncheckedIOException(e);
        }
        return logs;
    }

    public BenchOptions options()
    {
        return options;
    }

    public Progress progress()
    {
        return progress;
    }

    /**
     * The source NAT's port range the current scenario wants every NAT implementation to use ({@code 20000-20031}), or
     * null for each one's own.
     */
    public String natPorts()
    {
        return natPorts;
    }

    public void natPorts(final String natPorts)
    {
        this.natPorts = natPorts;
    }

    /** The DNAT services the current scenario wants every implementation to provide (empty: SNAT only). */
    public List<LabService> services()
    {
        return services;
    }

    /** Set by a DNAT scenario's prepare, before the first implementation is activated. */
    public void services(final List<LabService> services)
    {
        this.services = List.copyOf(services);
    }

    /** The active implementation's session while a segment runs, else null. */
    public Implementation.Session session()
    {
        return session;
    }

    void session(final Implementation.Session session)
    {
        this.session = session;
    }

    /** The command that runs natgw (resolved once per run). */
    public synchronized List<String> natgwCommand()
    {
        if (natgwCommand == null)
        {
            natgwCommand = NatgwCommand.natgw();
        }
        return natgwCommand;
    }

    /** /proc/net/stat/nf_conntrack of the gateway namespace, summed over CPUs. */
    public java.util.Map<String, Long> kernelConntrackStats()
    {
        final CommandResult result = lab.exec(Role.GW, "cat", "/proc/net/stat/nf_conntrack");
        if (!result.ok())
        {
            return new java.util.LinkedHashMap<>();
        }
        return ConntrackStats.parseProc(result.stdout());
    }

    /** Removes every conntrack entry of the gateway namespace, so each segment starts from an empty table. */
    public void flushKernelConntrack()
    {
        lab.exec(Role.GW, "conntrack", "-F");
    }
}
