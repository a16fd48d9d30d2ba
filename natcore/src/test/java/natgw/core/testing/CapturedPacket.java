package natgw.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * A packet captured off the wire by {@code natcore/src/test/scripts/capture-packet-fixtures.sh}:
 * {@code src/test/resources/packets/NAME.hex}, {@code #} comment lines (how it was captured, what
 * {@code tcpdump -vv} printed) then the IPv4 packet in hex.
 */
public final class CapturedPacket
{
    private CapturedPacket()
    {
    }

    /** The packet's bytes, exactly as captured. */
    public static byte[] bytes(final String name)
    {
        final String resource = "/packets/" + name + ".hex";
        try (InputStream in = CapturedPacket.class.getResourceAsStream(resource))
        {
            if (in == null)
            {
                throw new IllegalArgumentException("no fixture " + resource);
            }
            final StringBuilder hex = new StringBuilder();
            for (final String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n"))
            {
                if (!line.startsWith("#"))
                {
                    hex.append(line.replaceAll("\\s", ""));
                }
            }
            return hexToBytes(hex.toString());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /** The packet in a buffer of exactly its length (so any read past its end throws). */
    public static UnsafeBuffer buffer(final String name)
    {
        return new UnsafeBuffer(bytes(name));
    }

    public static byte[] hexToBytes(final String hex)
    {
        final String h = hex.replaceAll("\\s", "");
        if ((h.length() & 1) != 0)
        {
            throw new IllegalArgumentException("odd number of hex digits");
        }
        final byte[] bytes = new byte[h.length() / 2];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
