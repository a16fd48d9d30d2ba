package natgw.gateway.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import natgw.gateway.control.ControlClient;

@Command(
    name = "conntrack",
    description = {
        "Inspect the connection table of the gateway running in this network namespace, as conntrack-tools " +
            "does the kernel's.",
        "The same commands, filters and output (counts on standard error), so scripts written for conntrack work."
    },
    mixinStandardHelpOptions = true,
    sortOptions = false)
public final class ConntrackCommand implements Callable<Integer>
{
    @ArgGroup(exclusive = true, multiplicity = "1")
    Action action;

    static final class Action
    {
        @Option(names = { "-L", "--dump" }, description = "list connections") boolean list;
        @Option(names = { "-G", "--get" }, description = "show one connection, named by its original tuple") boolean get;
        @Option(names = { "-D", "--delete" }, description = "end the connections the filters match") boolean delete;
        @Option(names = { "-C", "--count" }, description = "how many connections there are") boolean count;
        @Option(names = { "-S", "--stats" }, description = "per-worker counters") boolean stats;
        @Option(names = { "-E", "--event" }, description = "show new/update/destroy events until interrupted") boolean events;
        @Option(names = { "-F", "--flush" }, description = "end every connection") boolean flush;
        @Option(names = { "-M", "--mappings" }, description = "list endpoint-independent mappings (inside endpoint, " +
            "external endpoint, connections using it); filters: -p, -s (inside address)") boolean mappings;
    }

    @Option(names = { "-p", "--proto" }, paramLabel = "PROTO", description = "tcp, udp or icmp")
    String protocol;

    @Option(names = { "-s", "--src", "--orig-src" }, paramLabel = "ADDR", description = "original source address")
    String src;

    @Option(names = { "-d", "--dst", "--orig-dst" }, paramLabel = "ADDR", description = "original destination address")
    String dst;

    @Option(names = { "-r", "--reply-src" }, paramLabel = "ADDR", description = "reply source address")
    String replySrc;

    @Option(names = { "-q", "--reply-dst" }, paramLabel = "ADDR", description = "reply destination address")
    String replyDst;

    @Option(names = { "--sport", "--orig-port-src" }, paramLabel = "PORT", description = "original source port")
    Integer sport;

    @Option(names = { "--dport", "--orig-port-dst" }, paramLabel = "PORT", description = "original destination port")
    Integer dport;

    @Option(names = "--reply-port-src", paramLabel = "PORT", description = "reply source port")
    Integer replySport;

    @Option(names = "--reply-port-dst", paramLabel = "PORT", description = "reply destination port")
    Integer replyDport;

    @Option(names = "--icmp-id", paramLabel = "ID", description = "ICMP echo identifier (original direction)")
    Integer icmpId;

    @Option(names = { "-o", "--output" }, paramLabel = "FORMATS",
        description = "comma-separated: extended (the layer 3 protocol first), timestamp (-E: when each event happened)")
    String output;

    @Option(names = "--tun", paramLabel = "NAME", description = "the gateway to ask, when several run in this namespace")
    String tun;

    public Integer call() throws Exception
    {
        final List<String> words = new ArrayList<>(List.of("conntrack", command()));
        add(words, "-p", protocol);
        add(words, "-s", src);
        add(words, "-d", dst);
        add(words, "-r", replySrc);
        add(words, "-q", replyDst);
        add(words, "--sport", sport);
        add(words, "--dport", dport);
        add(words, "--reply-port-src", replySport);
        add(words, "--reply-port-dst", replyDport);
        add(words, "--icmp-id", icmpId);
        add(words, "-o", output);
        return ControlClient.callHere(tun, String.join(" ", words));
    }

    private String command()
    {
        return action.list ? "-L" : action.get ? "-G" : action.delete ? "-D" : action.count ? "-C" : action.stats ? "-S" :
            action.events ? "-E" : action.mappings ? "-M" : "-F";
    }

    private static void add(final List<String> words, final String option, final Object value)
    {
        if (value != null)
        {
            final String text = value.toString().trim();
            if (text.isEmpty() || text.contains(" "))
            {
                throw new picocli.CommandLine.ParameterException(
                    new picocli.CommandLine(new ConntrackCommand()), option + ": '" + text + "' is not a value");
            }
            words.add(option);
            words.add(text);
        }
    }
}
