package natgw.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * A failed file operation in words ("/run/natgw: permission denied"), for messages a user reads: Java's own
 * {@code toString()} names the exception class, and {@link NoSuchFileException#getMessage()} is only the path.
 */
public final class IoMessages
{
    private IoMessages()
    {
    }

    /** "FILE: no such file or directory", "FILE: permission denied", ..., or the exception's message. */
    public static String describe(final IOException ex)
    {
        if (ex instanceof FileSystemException)
        {
            final FileSystemException fs = (FileSystemException)ex;
            if (fs.getReason() != null || fs.getFile() == null)
            {
                return fs.getMessage();
            }
            final String what;
            if (ex instanceof NoSuchFileException)
            {
                what = "no such file or directory";
            }
            else if (ex instanceof AccessDeniedException)
            {
                what = "permission denied";
            }
            else if (ex instanceof FileAlreadyExistsException)
            {
                what = "already exists";
            }
            else if (ex instanceof NotDirectoryException)
            {
                what = "not a directory";
            }
            else if (ex instanceof DirectoryNotEmptyException)
            {
                what = "directory not empty";
            }
            else
            {
                what = "failed";
            }
            return fs.getFile() + (fs.getOtherFile() != null ? " -> " + fs.getOtherFile() : "") + ": " + what;
        }
        final String message = ex.getMessage();
        return message != null && !message.isBlank() ? message : "input/output error";
    }

    /** {@link #describe} of the cause. */
    public static String describe(final UncheckedIOException ex)
    {
        return describe(ex.getCause());
    }
}
