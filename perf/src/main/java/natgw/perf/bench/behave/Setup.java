package natgw.perf.bench.behave;

import java.util.List;

/**
 * How the gateway runs for a row: natgw's flags beyond the lab's command line, and whether the row needs two pool
 * addresses (natgw {@code --snat 10.77.2.100,10.77.2.101}; the kernel {@code snat to 10.77.2.100-10.77.2.101
 * persistent} instead of {@code masquerade}). Rows with one setup share a gateway start and run at once.
 */
enum Setup
{
    DEFAULT(List.of(), false),
    PAIRED(List.of("--pooling", "paired"), true),
    RFC_TIMERS(List.of("--timeouts", "rfc"), false),
    FILTER_ENDPOINT_INDEPENDENT(List.of("--filtering", "endpoint-independent"), false),
    FILTER_ADDRESS_DEPENDENT(List.of("--filtering", "address-dependent"), false);

    private final List<String> natgwFlags;
    private final boolean twoPoolAddresses;

    Setup(final List<String> natgwFlags, final boolean twoPoolAddresses)
    {
        this.natgwFlags = natgwFlags;
        this.twoPoolAddresses = twoPoolAddresses;
    }

    List<String> natgwFlags()
    {
        return natgwFlags;
    }

    boolean twoPoolAddresses()
    {
        return twoPoolAddresses;
    }
}
