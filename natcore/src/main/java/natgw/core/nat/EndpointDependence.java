package natgw.core.nat;

/**
 * RFC 4787's three behaviours, for a mapping (section 4.1: which external endpoint a new connection of an inside
 * endpoint gets) and for filtering (section 5: which outside endpoints may send to a mapping).
 * <ul>
 *   <li>{@link #ENDPOINT_INDEPENDENT}: mapping: one external endpoint per inside endpoint, whatever the
 *   destination (REQ-1); filtering: any outside endpoint may send to a live mapping ("full cone").</li>
 *   <li>{@link #ADDRESS_DEPENDENT}: filtering: only an outside address the inside endpoint has sent to.</li>
 *   <li>{@link #ADDRESS_AND_PORT_DEPENDENT}: mapping: a new external endpoint per destination (Linux's); filtering:
 *   only the outside endpoint of a connection (Linux's).</li>
 * </ul>
 */
public enum EndpointDependence
{
    ENDPOINT_INDEPENDENT("endpoint-independent"),
    ADDRESS_DEPENDENT("address-dependent"),
    ADDRESS_AND_PORT_DEPENDENT("address-and-port-dependent");

    private final String label;

    EndpointDependence(final String label)
    {
        this.label = label;
    }

    public String label()
    {
        return label;
    }

    /** Parses a label; throws IllegalArgumentException naming the choices. */
    public static EndpointDependence fromLabel(final String label)
    {
        for (final EndpointDependence d : values())
        {
            if (d.label.equals(label))
            {
                return d;
            }
        }
        throw new IllegalArgumentException("'" + label + "' is none of endpoint-independent, address-dependent, address-and-port-dependent");
    }
}
