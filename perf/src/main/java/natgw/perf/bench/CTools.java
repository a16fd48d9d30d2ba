package natgw.perf.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import natgw.tun.CommandResult;
import natgw.tun.Exec;

/** Compiles the reference C tools (udpflood.c, nulltun.c) into a directory of the run; they are not part of natgw. */
final class CTools
{
    private CTools()
    {
    }

    /**
     * {@code gcc -O2 -pthread -o DIR/NAME SOURCE}; returns the binary. A binary already in DIR and newer than the
     * source is reused: two implementations share nulltun, and a running binary cannot be overwritten.
     */
    static synchronized Path compile(final Path source, final Path dir)
    {
        try
        {
            Files.createDirectories(dir);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        final String name = source.getFileName().toString().replaceFirst("\\.c$", "");
        final Path binary = dir.resolve(name).toAbsolutePath();
        try
        {
            if (Files.isExecutable(binary) &&
                Files.getLastModifiedTime(binary).compareTo(Files.getLastModifiedTime(source)) >= 0)
            {
                return binary;
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        final CommandResult result = Exec.run("gcc", "-O2", "-pthread", "-o", binary.toString(), source.toString());
        if (!result.ok())
        {
            throw new Implementation.Unavailable("gcc could not compile " + source + ": " + result.stderr().strip());
        }
        return binary;
    }

    /**
     * Compiles a C tool shipped as a resource of this package ({@code udpgso.c}): written to DIR first, since the
     * harness runs from a jar.
     */
    static Path compileResource(final String name, final Path dir)
    {
        final Path source = dir.resolve(name);
        try (java.io.InputStream in = CTools.class.getResourceAsStream(name))
        {
            if (in == null)
            {
                throw new IllegalStateException(name + " is not on the classpath next to " + CTools.class.getName());
            }
            Files.createDirectories(dir);
            if (!Files.exists(source))
            {
                Files.copy(in, source);
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        return compile(source, dir);
    }

    /** The shared reference tools directory: NATGW_TOOLS, else ../shared/tools next to the repository. */
    static Path toolsDir()
    {
        final String configured = System.getenv("NATGW_TOOLS");
        if (configured != null && !configured.isBlank())
        {
            return Path.of(configured);
        }
        final String home = System.getProperty("natgw.home");
        for (Path dir = home != null ? Path.of(home).toAbsolutePath() : Path.of("").toAbsolutePath(); dir != null;
            dir = dir.getParent())
        {
            final Path candidate = dir.resolve("shared").resolve("tools");
            if (Files.isDirectory(candidate))
            {
                return candidate;
            }
            final Path sibling = dir.resolveSibling("shared").resolve("tools");
            if (Files.isDirectory(sibling))
            {
                return sibling;
            }
        }
        return Path.of("/work/shared/tools");
    }
}
