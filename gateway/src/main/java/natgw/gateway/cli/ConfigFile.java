package natgw.gateway.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import natgw.core.nat.Services;

/**
 * The {@code --config FILE} format of {@code natgw run}: one setting per line, named as the long
 * option without its dashes, then its value; {@code #} starts a comment; blank lines are ignored.
 * Options given on the command line too are applied after the file, so they win for single values
 * and add to repeatable ones.
 * <pre>
 * # natgw.conf
 * tun natgw0
 * inside 172.18.0.0/16
 * snat 192.0.2.10
 * steer br0
 * port-strategy reserve
 * service tcp:10.96.0.10:53/rr=172.18.0.5:53,172.18.0.6:53
 * service udp:10.96.0.10:53/rr=172.18.0.5:53,172.18.0.6:53
 * service tcp:10.96.0.20:80/wrr/300=10.0.1.2:8080@3,10.0.1.3:8080@1
 * </pre>
 */
final class ConfigFile
{
    private ConfigFile()
    {
    }

    /** The file as command-line arguments; a line that is not a known option is refused with FILE:LINE. */
    static List<String> toArguments(final Path file, final CommandSpec spec)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("--config " + file + ": cannot read it (" + ex.getMessage() + ")");
        }
        final List<String> args = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++)
        {
            String line = lines.get(i);
            final int hash = line.indexOf('#');
            if (hash >= 0)
            {
                line = line.substring(0, hash);
            }
            line = line.strip();
            if (line.isEmpty())
            {
                continue;
            }
            final String where = file + ":" + (i + 1);
            final String[] words = line.split("\\s+", 2);
            final String name = "--" + words[0];
            final OptionSpec option = spec.findOption(name);
            if (option == null || name.equals("--config") || option.usageHelp() || option.versionHelp())
            {
                throw new IllegalArgumentException(where + ": unknown setting '" + words[0] + "'");
            }
            final boolean flag = option.arity().max() == 0;
            if (flag && words.length > 1)
            {
                throw new IllegalArgumentException(where + ": setting '" + words[0] + "' takes no value");
            }
            if (!flag && words.length < 2)
            {
                throw new IllegalArgumentException(where + ": setting '" + words[0] + "' needs a value");
            }
            args.add(name);
            if (!flag)
            {
                args.add(words[1].strip());
            }
            if (name.equals("--service"))
            {
                try
                {
                    Services.ServiceSpec.parse(words[1].strip());
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new IllegalArgumentException(where + ": " + ex.getMessage(), ex);
                }
            }
        }
        return args;
    }
}
