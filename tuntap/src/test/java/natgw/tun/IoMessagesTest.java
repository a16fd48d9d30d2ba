package natgw.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class IoMessagesTest
{
    @Test
    void shouldSayWhatHappenedToTheFileWithoutTheExceptionClass(@TempDir final Path dir)
    {
        final Path missing = dir.resolve("missing");
        final NoSuchFileException real = assertThrows(NoSuchFileException.class, () -> Files.readString(missing));
        assertEquals(missing + ": no such file or directory", IoMessages.describe(real));
        assertEquals(missing + ": no such file or directory", IoMessages.describe(new UncheckedIOException(real)));
        assertEquals("/run/natgw/.lock: permission denied",
            IoMessages.describe(new AccessDeniedException("/run/natgw/.lock")));
        assertEquals("/proc/sys/x: Read-only file system",
            IoMessages.describe(new FileSystemException("/proc/sys/x", null, "Read-only file system")));
        assertEquals("Invalid argument", IoMessages.describe(new IOException("Invalid argument")));
        assertEquals("input/output error", IoMessages.describe(new IOException()));
    }
}
