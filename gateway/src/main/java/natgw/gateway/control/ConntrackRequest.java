package natgw.gateway.control;

import java.util.ArrayList;
import java.util.List;

import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;

/**
 * A {@code conntrack} request of the control channel, in conntrack-tools' own words: one command ({@code -L},
 * {@code -G}, {@code -D}, {@code -C}, {@code -S}, {@code -E}, {@code -F}), the filters of {@code -L/-G/-D}, and
 * {@code -o extended,timestamp}. The command line client sends what its user typed, so the gateway parses it.
 */
public final class ConntrackRequest
{
    public final char command;
    public final ConntrackListing.Filter filter = new ConntrackListing.Filter();
    public boolean extended;
    public boolean timestamp;

    private ConntrackRequest(final char command)
    {
        this.command = command;
    }

    /** Parses the words after {@code conntrack}; throws IllegalArgumentException naming what is wrong. */
    public static ConntrackRequest parse(final List<String> words)
    {
        ConntrackRequest request = null;
        final List<String> rest = new ArrayList<>();
        for (final String word : words)
        {
            final char command = command(word);
            if (command != 0)
            {
                if (request != null)
                {
                    throw new IllegalArgumentException("only one command at a time (" + request.command + " and " + word + ")");
                }
                request = new ConntrackRequest(command);
            }
            else
            {
                rest.add(word);
            }
        }
        if (request == null)
        {
            throw new IllegalArgumentException("no command: use -L, -G, -D, -C, -S, -E, -F or -M");
        }
        request.options(rest);
        if (request.command == 'G' && !request.filter.isExact())
        {
            throw new IllegalArgumentException("-G needs the whole original tuple: -p, -s, -d and --sport/--dport " +
                "(for icmp --icmp-id)");
        }
        return request;
    }

    private static char command(final String word)
    {
        switch (word)
        {
            case "-L": case "--dump": return 'L';
            case "-G": case "--get": return 'G';
            case "-D": case "--delete": return 'D';
            case "-C": case "--count": return 'C';
            case "-S": case "--stats": return 'S';
            case "-E": case "--event": return 'E';
            case "-F": case "--flush": return 'F';
            case "-M": case "--mappings": return 'M';
            default: return 0;
        }
    }

    private void options(final List<String> words)
    {
        final ConntrackListing.Filter f = filter;
        for (int i = 0; i < words.size(); i++)
        {
            final String option = words.get(i);
            if (i + 1 >= words.size())
            {
                throw new IllegalArgumentException("option " + option + " needs a value");
            }
            final String value = words.get(++i);
            switch (option)
            {
                case "-p": case "--proto": f.protocol = ConntrackListing.protocolNumber(value); break;
                case "-s": case "--src": case "--orig-src": f.src = address(option, value); break;
                case "-d": case "--dst": case "--orig-dst": f.dst = address(option, value); break;
                case "-r": case "--reply-src": f.replySrc = address(option, value); break;
                case "-q": case "--reply-dst": f.replyDst = address(option, value); break;
                case "--sport": case "--orig-port-src": f.srcPort = port(option, value); break;
                case "--dport": case "--orig-port-dst": f.dstPort = port(option, value); break;
                case "--reply-port-src": f.replySrcPort = port(option, value); break;
                case "--reply-port-dst": f.replyDstPort = port(option, value); break;
                case "--icmp-id":
                    // an echo query's tuple holds its id where a port would be: the request's source side
                    f.srcPort = port(option, value);
                    f.dstPort = 0;
                    break;
                case "-o": case "--output": output(value); break;
                default: throw new IllegalArgumentException("unknown option '" + option + "'");
            }
        }
        if (command != 'E' && timestamp)
        {
            throw new IllegalArgumentException("-o timestamp is for -E");
        }
        if ((filter.srcPort >= 0 || filter.dstPort >= 0) && filter.protocol == 0)
        {
            throw new IllegalArgumentException("--sport/--dport need -p (tcp or udp)");
        }
        if (filter.protocol == Ipv4Header.PROTO_ICMP && (filter.srcPort > 0 && filter.dstPort != 0))
        {
            throw new IllegalArgumentException("icmp has no ports: use --icmp-id");
        }
    }

    private void output(final String value)
    {
        for (final String format : value.split(","))
        {
            switch (format)
            {
                case "extended": extended = true; break;
                case "timestamp": timestamp = true; break;
                default: throw new IllegalArgumentException("-o " + format + ": natgw knows extended and timestamp");
            }
        }
    }

    private static int address(final String option, final String value)
    {
        try
        {
            return FlowTuple.parseAddress(value);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(option + ": not an IPv4 address: '" + value + "'");
        }
    }

    private static int port(final String option, final String value)
    {
        try
        {
            final int port = Integer.parseInt(value);
            if (port >= 0 && port <= 65535)
            {
                return port;
            }
        }
        catch (final NumberFormatException ignore)
        {
            // refused below
        }
        throw new IllegalArgumentException(option + ": not a port (0-65535): '" + value + "'");
    }
}
