package natgw.gateway.cli;

/**
 * A verb of the {@code natgw} command that lives outside the daemon: {@code bench}, {@code demo} and {@code lab}
 * come from the perf module, which depends on this one and not the other way round. {@link Main} finds them with
 * {@link java.util.ServiceLoader} when their jar is on the class path (the {@code ./natgw} launcher puts it
 * there); without it the daemon's verbs work alone.
 * <p>
 * An implementation is a picocli {@code @Command} class with a public no-argument constructor, listed in
 * {@code META-INF/services/natgw.gateway.cli.ExtensionCommand}.
 */
public interface ExtensionCommand
{
}
