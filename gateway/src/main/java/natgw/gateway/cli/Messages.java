package natgw.gateway.cli;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.OverwrittenOptionException;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

import natgw.tun.IoMessages;

/**
 * The one line natgw prints for a mistake or a failure, after {@code "natgw: "}: the flag first, what is
 * wrong, then what to do ({@code --inside: not a CIDR (prefix length 0..32): '10.0.0.0/33'; write ADDR/LEN,
 * e.g. 172.18.0.0/16}). Never a Java exception's class name: picocli's own wording is rephrased, an I/O
 * failure is put in words, and a class name that slips through from below is cut out.
 */
final class Messages
{
    /** {@code java.nio.file.NoSuchFileException: } and the like, where a message embeds another's toString(). */
    private static final Pattern CLASS_NAME =
        Pattern.compile("\\b(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*(?:Exception|Error)\\b(?::\\s*)?");
    private static final Pattern EXCLUSIVE = Pattern.compile("^Error: (.*) are mutually exclusive.*$", Pattern.DOTALL);
    private static final Pattern UNKNOWN_SUBCOMMAND = Pattern.compile("^Unknown subcommand '(.*)'\\.?$");
    private static final Pattern INVALID_VALUE = Pattern.compile("^Invalid value for [^:]+: (.*)$", Pattern.DOTALL);

    private Messages()
    {
    }

    /** A refused command line: {@code --FLAG: what is wrong; what to do}. */
    static String usage(final ParameterException ex)
    {
        if (ex instanceof UnmatchedArgumentException)
        {
            return unmatched((UnmatchedArgumentException)ex);
        }
        if (ex instanceof MissingParameterException)
        {
            return missing((MissingParameterException)ex);
        }
        if (ex instanceof OverwrittenOptionException)
        {
            final ArgSpec arg = ((OverwrittenOptionException)ex).getOverwritten();
            return name(arg) + ": given twice; give it once";
        }
        final String message = ex.getMessage() == null ? "" : ex.getMessage();
        final Matcher invalid = INVALID_VALUE.matcher(message);
        if (invalid.matches() && ex.getArgSpec() != null)
        {
            return invalidValue(ex.getArgSpec(), ex.getValue(), invalid.group(1));
        }
        final Matcher exclusive = EXCLUSIVE.matcher(message);
        if (exclusive.matches())
        {
            return exclusive.group(1) + ": they exclude each other; give one";
        }
        final Matcher unknownCommand = UNKNOWN_SUBCOMMAND.matcher(message);
        if (unknownCommand.matches())
        {
            // "natgw help nosuch": picocli's help command reports it on the command whose subcommands it lists
            final CommandSpec owner = ex.getCommandLine().getCommandSpec();
            return "'" + unknownCommand.group(1) + "' is not a " + owner.qualifiedName() + " command; the commands are " +
                String.join(", ", owner.subcommands().keySet());
        }
        return scrub(message);
    }

    /** An operational failure (no permission, no TUN, a command that failed): its message, in words. */
    static String failure(final Throwable ex)
    {
        Throwable t = ex;
        // a wrapper made as new X(cause) only repeats cause.toString(): the cause says it
        while (t.getCause() != null && (t.getMessage() == null || t.getMessage().equals(t.getCause().toString())))
        {
            t = t.getCause();
        }
        if (t instanceof IOException)
        {
            return IoMessages.describe((IOException)t);
        }
        final String message = t.getMessage();
        if (message == null || message.isBlank())
        {
            return "internal error; run again with NATGW_JAVA_OPTS=-Dnatgw.debug=true to see where it happened";
        }
        return scrub(message);
    }

    /** {@code message} without embedded class names ({@code "cannot read X: java.io.IOException: y"} -> {@code "cannot read X: y"}). */
    static String scrub(final String message)
    {
        return CLASS_NAME.matcher(message).replaceAll("").strip();
    }

    private static String unmatched(final UnmatchedArgumentException ex)
    {
        final List<String> unmatched = ex.getUnmatched();
        final String first = unmatched.isEmpty() ? "" : unmatched.get(0);
        // picocli suggests by letter pairs ("frobnicate" gets "service", "rnu" not "run"): a typo is a few edits
        final CommandSpec spec = ex.getCommandLine().getCommandSpec();
        final List<String> candidates = new ArrayList<>();
        if (first.startsWith("-"))
        {
            spec.options().forEach(option -> candidates.addAll(List.of(option.names())));
        }
        else
        {
            candidates.addAll(spec.subcommands().keySet());
        }
        final List<String> suggestions = nearest(first.replaceFirst("=.*", ""), candidates);
        final String didYouMean = suggestions.isEmpty() ? "" :
            "; did you mean " + String.join(" or ", suggestions) + "?";
        final String command = spec.qualifiedName();
        if (first.startsWith("-"))
        {
            final int eq = first.indexOf('=');
            return (eq > 0 ? first.substring(0, eq) : first) + ": " + command + " has no such option" + didYouMean;
        }
        if (!ex.getCommandLine().getCommandSpec().subcommands().isEmpty() &&
            ex.getCommandLine().getCommandSpec().positionalParameters().isEmpty())
        {
            return "'" + first + "' is not a " + command + " command" + (didYouMean.isEmpty() ?
                "; the commands are " + String.join(", ", ex.getCommandLine().getCommandSpec().subcommands().keySet()) :
                didYouMean);
        }
        return "'" + first + "': " + command + (ex.getCommandLine().getCommandSpec().positionalParameters().isEmpty() ?
            " takes options only; an option starts with --" : " takes fewer arguments") + didYouMean;
    }

    private static String missing(final MissingParameterException ex)
    {
        final List<ArgSpec> missing = ex.getMissing();
        final String message = ex.getMessage() == null ? "" : ex.getMessage();
        if (missing == null || missing.isEmpty())
        {
            return scrub(message);
        }
        if (missing.size() > 1)
        {
            final String names = missing.stream().map(Messages::shortName).collect(Collectors.joining(", "));
            return message.contains("one of") ? "one of " + names + " is needed" : "missing: " + names;
        }
        final ArgSpec arg = missing.get(0);
        if (arg.isOption() && !message.startsWith("Missing required option"))
        {
            // the option was given, its value was not: "--snat" at the end of the line
            return name(arg) + ": needs a value (" + arg.paramLabel() + ")";
        }
        final String description = arg.description().length == 0 ? "" : arg.description()[0].strip();
        return name(arg) + ": missing" + (description.isEmpty() ? "" :
            " (" + (description.endsWith(".") ? description.substring(0, description.length() - 1) : description) + ")");
    }

    private static String invalidValue(final ArgSpec arg, final String value, final String picocliReason)
    {
        Class<?> type = arg.type();
        if (arg.auxiliaryTypes().length > 0 && (type.isArray() || java.util.Collection.class.isAssignableFrom(type)))
        {
            type = arg.auxiliaryTypes()[0];
        }
        final String shown = "'" + (value == null ? "" : value) + "'";
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class ||
            type == short.class || type == Short.class)
        {
            final long max = type == int.class || type == Integer.class ? Integer.MAX_VALUE :
                type == short.class || type == Short.class ? Short.MAX_VALUE : Long.MAX_VALUE;
            return name(arg) + ": " + shown + (value != null && value.strip().matches("[-+]?\\d+") ?
                " is too large; give at most " + max : " is not a whole number; give digits only, e.g. " +
                name(arg) + " " + example(arg, "8"));
        }
        if (type == double.class || type == Double.class || type == float.class || type == Float.class)
        {
            return name(arg) + ": " + shown + " is not a number; e.g. " + name(arg) + " " + example(arg, "2.5");
        }
        return name(arg) + ": " + scrub(picocliReason);
    }

    /** The option's default as an example of a good value, or {@code otherwise}. */
    private static String example(final ArgSpec arg, final String otherwise)
    {
        final Object initial = arg.initialValue();
        final String value = arg.defaultValue() != null ? arg.defaultValue() : initial != null ? initial.toString() : null;
        return value != null && !value.isBlank() && !value.equals("0") ? value : otherwise;
    }

    /** "-L/--dump": an option of a group, by both its names. */
    private static String shortName(final ArgSpec arg)
    {
        if (!arg.isOption())
        {
            return arg.paramLabel();
        }
        final OptionSpec option = (OptionSpec)arg;
        return option.shortestName().equals(option.longestName()) ? option.longestName() :
            option.shortestName() + "/" + option.longestName();
    }

    /** The option's longest name, or a positional parameter's label. */
    static String name(final ArgSpec arg)
    {
        return arg.isOption() ? ((OptionSpec)arg).longestName() : arg.paramLabel();
    }

    /** The candidates a typo away from {@code typed} (at most two, nearest first; dashes do not count). */
    static List<String> nearest(final String typed, final List<String> candidates)
    {
        final String word = typed.replaceFirst("^-+", "");
        final int most = word.length() <= 2 ? 0 : word.length() == 3 ? 1 : 2;
        return candidates.stream().distinct()
            .filter(c -> editDistance(word, c.replaceFirst("^-+", "")) <= most)
            .sorted(java.util.Comparator.comparingInt(c -> editDistance(word, c.replaceFirst("^-+", ""))))
            .limit(2).toList();
    }

    /**
     * Edit distance with transpositions (optimal string alignment): how many letters to insert, delete,
     * change or swap with their neighbour to turn {@code a} into {@code b}; "rnu" is one from "run".
     */
    static int editDistance(final String a, final String b)
    {
        final int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++)
        {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++)
        {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++)
        {
            for (int j = 1; j <= b.length(); j++)
            {
                final int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(d[i - 1][j - 1] + cost, Math.min(d[i - 1][j], d[i][j - 1]) + 1);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1))
                {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
