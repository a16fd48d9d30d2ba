package natgw.tun;

import jnr.ffi.LibraryLoader;
import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * Every libc call of natgw, in one place (as Netty keeps all its JNI in {@code Native}).
 * <p>
 * Hot-path calls ({@link #read}, {@link #write}, {@link #poll}) take memory as a raw {@code long} address
 * and return primitives, so a call allocates nothing: no {@code Pointer}, no boxing, no varargs. jnr-ffi
 * saves errno after every call into thread-local native storage; {@link #errno()} reads it back, also
 * without allocating. Failure is a negative return value, never an exception.
 * <p>
 * {@code ioctl} and {@code fcntl} are variadic in C; they are bound here with a fixed third argument,
 * which has the same calling convention for integer arguments on the Linux ABIs natgw runs on
 * (x86-64 and AArch64). Constants are the Linux x86-64/AArch64 values.
 * <p>
 * Public only because jnr-ffi generates the {@link LibC} implementation in its own class loader; not API.
 */
public final class Native
{
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;

    static final int F_GETFL = 3;

    static final int EFD_NONBLOCK = O_NONBLOCK;
    static final int EFD_CLOEXEC = O_CLOEXEC;

    static final short POLLIN = 0x1;
    static final int POLLFD_SIZE = 8; // struct pollfd { int fd; short events; short revents; }
    static final int POLLFD_EVENTS_OFFSET = 4;
    static final int POLLFD_REVENTS_OFFSET = 6;

    static final int AF_INET = 2;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_CLOEXEC = O_CLOEXEC;
    static final int SOL_SOCKET = 1;
    static final int SO_NETNS_COOKIE = 71;

    static final int CLONE_NEWNET = 0x40000000;

    static final int MADV_HUGEPAGE = 14;
    static final int MADV_POPULATE_WRITE = 23;
    static final int MADV_COLLAPSE = 25;

    static final int PROT_NONE = 0;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_FIXED = 0x10;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final long MAP_FAILED = -1;
    private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));

    static final long SYS_MMAP = syscallNumber(9, 222);
    static final long SYS_MUNMAP = syscallNumber(11, 215);

    /** A system call's number: {@code x86_64}'s, or {@code aarch64}'s (the generic table arm64 uses) on arm64. */
    static long syscallNumber(final long x86_64, final long aarch64)
    {
        return AARCH64 ? aarch64 : x86_64;
    }

    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int ENXIO = 6;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int ENOPROTOOPT = 92;
    static final int EBADFD = 77;

    /** The libc functions natgw calls; bound once by jnr-ffi. */
    public interface LibC
    {
        int open(String path, int flags);

        int close(int fd);

        @ssize_t long read(int fd, @intptr_t long buf, @size_t long count);

        @ssize_t long write(int fd, @intptr_t long buf, @size_t long count);

        int ioctl(int fd, @size_t long request, @intptr_t long arg);

        int fcntl(int fd, int cmd, int arg);

        int poll(@intptr_t long fds, @size_t long nfds, int timeoutMs);

        int eventfd(int initval, int flags);

        int socket(int domain, int type, int protocol);

        int getsockopt(int fd, int level, int optname, @intptr_t long optval, @intptr_t long optlen);

        int setns(int fd, int nstype);

        @intptr_t long aligned_alloc(@size_t long alignment, @size_t long size);

        void free(@intptr_t long address);

        int madvise(@intptr_t long addr, @size_t long length, int advice);

        /** syscall(2): mmap and munmap go through it, as jnr-ffi's binding of libc's mmap fails with EINVAL. */
        long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

        String strerror(int errnum);
    }

    private static final LibC LIBC;
    private static final jnr.ffi.Runtime RUNTIME;
    private static final Throwable LOAD_FAILURE;

    static
    {
        LibC libc = null;
        jnr.ffi.Runtime runtime = null;
        Throwable failure = null;
        try
        {
            libc = LibraryLoader.create(LibC.class).load("c");
            runtime = jnr.ffi.Runtime.getRuntime(libc);
        }
        catch (final Throwable t)
        {
            failure = t;
        }
        LIBC = libc;
        RUNTIME = runtime;
        LOAD_FAILURE = failure;
    }

    private Native()
    {
    }

    /** Fails with the reason if libc could not be bound (not Linux, or jnr-ffi missing its native stub). */
    public static void ensureAvailable()
    {
        if (LIBC == null)
        {
            throw new IllegalStateException("natgw cannot bind libc through jnr-ffi: " + LOAD_FAILURE, LOAD_FAILURE);
        }
    }

    /** mmap(2); {@link #MAP_FAILED} and errno on failure. */
    static long mmap(final long addr, final long length, final int prot, final int flags, final int fd, final long offset)
    {
        return libc().syscall(SYS_MMAP, addr, length, prot, flags, fd, offset);
    }

    /** munmap(2). */
    static int munmap(final long addr, final long length)
    {
        return (int)libc().syscall(SYS_MUNMAP, addr, length, 0, 0, 0, 0);
    }

    public static LibC libc()
    {
        ensureAvailable();
        return LIBC;
    }

    /** errno of the last libc call made by this thread through {@link LibC}. */
    public static int errno()
    {
        return RUNTIME.getLastError();
    }

    static long read(final int fd, final long address, final long length)
    {
        return LIBC.read(fd, address, length);
    }

    static long write(final int fd, final long address, final long length)
    {
        return LIBC.write(fd, address, length);
    }

    static int poll(final long pollfds, final int count, final int timeoutMs)
    {
        return LIBC.poll(pollfds, count, timeoutMs);
    }

    /** "EPERM (Operation not permitted)". */
    public static String errnoText(final int errno)
    {
        String text;
        try
        {
            text = libc().strerror(errno);
        }
        catch (final RuntimeException ex)
        {
            text = "errno " + errno;
        }
        final String name = errnoName(errno);
        return null == name ? text + " (errno " + errno + ")" : name + " (" + text + ")";
    }

    private static String errnoName(final int errno)
    {
        switch (errno)
        {
            case EPERM: return "EPERM";
            case ENOENT: return "ENOENT";
            case EINTR: return "EINTR";
            case EIO: return "EIO";
            case ENXIO: return "ENXIO";
            case EAGAIN: return "EAGAIN";
            case EACCES: return "EACCES";
            case EBUSY: return "EBUSY";
            case EEXIST: return "EEXIST";
            case ENODEV: return "ENODEV";
            case EINVAL: return "EINVAL";
            case EBADFD: return "EBADFD";
            case ENOPROTOOPT: return "ENOPROTOOPT";
            default: return null;
        }
    }
}
