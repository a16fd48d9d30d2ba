package natgw.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** What the build stamped into the jar: {@code build.properties}, filtered by Maven. */
public final class BuildInfo
{
    /** The project's version, as in the pom. */
    public static final String VERSION = load().getProperty("version", "unknown");

    private BuildInfo()
    {
    }

    private static Properties load()
    {
        final Properties properties = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties"))
        {
            if (in != null)
            {
                properties.load(in);
            }
        }
        catch (final IOException ignore)
        {
            // a jar that cannot read its own resource says "unknown" rather than failing to start
        }
        return properties;
    }
}
