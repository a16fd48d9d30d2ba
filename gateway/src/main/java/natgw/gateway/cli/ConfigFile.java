package natgw.gateway.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

import natgw.tun.IoMessages;

/**
 * The {@code --config FILE} format of {@code natgw run}: one setting per line, named as the long option (its
 * dashes may be left out), then its value, after spaces or {@code =}; {@code #} starts a comment; blank lines
 * are ignored. A flag stands alone, or takes {@code true}/{@code false} (also yes/no, on/off, 1/0). Options
 * given on the command line too are applied after the file, so they win for single values and add to
 * repeatable ones.
 * <pre>
 * # natgw.conf
 * tun natgw0
 * inside 172.18.0.0/16
 * snat = 192.0.2.10
 * steer br0
 * port-strategy reserve
 * service tcp:10.96.0.10:53/rr=172.18.0.5:53,172.18.0.6:53
 * service udp:10.96.0.10:53/rr=172.18.0.5:53,172.18.0.6:53
 * service tcp:10.96.0.20:80/wrr/300=10.0.1.2:8080@3,10.0.1.3:8080@1
 * </pre>
 * The line is checked here (a known setting, a value where one is needed, a number where one is needed);
 * the value's meaning is checked by {@link RunCommand#toConfig()}, which names the line too.
 */
final class ConfigFile
{
    /** NAME, then optional spaces, then an optional '=' (NAME never holds one), then the value. */
    private static final Pattern LINE = Pattern.compile("([^\\s=]+)\\s*(=)?\\s*(.*)");
    private static final List<String> TRUE = List.of("true", "yes", "on", "1");
    private static final List<String> FALSE = List.of("false", "no", "off", "0");

    /**
     * One line of the file.
     *
     * @param option the long option, {@code --snat}.
     * @param value  its value; null for a flag.
     * @param where  {@code FILE:LINE}.
     */
    record Setting(String option, String value, String where)
    {
    }

    private ConfigFile()
    {
    }

    /** The file as command-line arguments. */
    static List<String> toArguments(final Path file, final CommandSpec spec)
    {
        final List<String> args = new ArrayList<>();
        for (final Setting setting : read(file, spec))
        {
            args.add(setting.option());
            if (setting.value() != null)
            {
                args.add(setting.value());
            }
        }
        return args;
    }

    /** The file's settings, in order; a line that is not one is refused with {@code FILE:LINE: ...}. */
    static List<Setting> read(final Path file, final CommandSpec spec)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("--config: cannot read " + IoMessages.describe(ex));
        }
        final List<Setting> settings = new ArrayList<>();
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
            final Setting setting = parse(line, file + ":" + (i + 1), spec);
            if (setting != null)
            {
                settings.add(setting);
            }
        }
        return settings;
    }

    /** One non-blank line; null for a flag set to false. */
    private static Setting parse(final String line, final String where, final CommandSpec spec)
    {
        final Matcher m = LINE.matcher(line);
        if (!m.matches())
        {
            throw new IllegalArgumentException(where + ": not a setting; write NAME VALUE, e.g. snat 192.0.2.10");
        }
        final String word = m.group(1).startsWith("--") ? m.group(1).substring(2) : m.group(1);
        final String value = m.group(3).strip();
        final OptionSpec option = spec.findOption("--" + word);
        if (option == null || word.equals("config") || option.usageHelp() || option.versionHelp())
        {
            final String near = nearest(word.toLowerCase(Locale.ROOT).replace('_', '-'), spec);
            throw new IllegalArgumentException(where + ": unknown setting '" + word + "'" +
                (near != null ? "; did you mean " + near + "?" : "; natgw run --help lists them"));
        }
        if (option.arity().max() == 0)
        {
            if (value.isEmpty() || TRUE.contains(value.toLowerCase(Locale.ROOT)))
            {
                return new Setting(option.longestName(), null, where);
            }
            if (FALSE.contains(value.toLowerCase(Locale.ROOT)))
            {
                return null;
            }
            throw new IllegalArgumentException(where + ": " + word + ": a flag takes no value, or true or false; got '" +
                value + "'");
        }
        if (value.isEmpty())
        {
            throw new IllegalArgumentException(where + ": " + word + ": needs a value (" + option.paramLabel() + ")");
        }
        try
        {
            // the value's type (a number where one is needed), as the command line would check it
            new CommandLine(new RunCommand()).parseArgs(option.longestName(), value);
        }
        catch (final ParameterException ex)
        {
            final String message = Messages.usage(ex);
            throw new IllegalArgumentException(where + ": " + (message.startsWith(option.longestName() + ":") ?
                word + message.substring(option.longestName().length()).replace(option.longestName() + " ", word + " ") :
                message), ex);
        }
        return new Setting(option.longestName(), value, where);
    }

    /** The setting within two edits of {@code word} ("snatt", "port_range"), or null. */
    private static String nearest(final String word, final CommandSpec spec)
    {
        String best = null;
        int bestDistance = 3;
        for (final OptionSpec option : spec.options())
        {
            final String name = option.longestName().substring(2);
            if (option.usageHelp() || option.versionHelp() || name.equals("config"))
            {
                continue;
            }
            final int distance = Messages.editDistance(word, name);
            if (distance < bestDistance)
            {
                best = name;
                bestDistance = distance;
            }
        }
        return best;
    }
}
