package natgw.gateway.cli;

import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
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
        final List<String> suggestions = ex.getSuggestions();
        final String didYouMean = suggestions.isEmpty() ? "" :
            "; did you mean " + suggestions.stream().limit(3).collect(Collectors.joining(" or ")) + "?";
        final String command = ex.getCommandLine().getCommandSpec().qualifiedName();
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
}
