using System.Runtime.InteropServices;

namespace Demi.Internal.Native;

/// <summary>
/// The libc calls of every Demi library, declared once: the runtime's (epoll, eventfd, sockets,
/// affinity), the transports' set-up calls (namespaces, interface ioctls, AF_XDP statistics) and the
/// C ABI host's. Errors come back as -1 with errno in Marshal.GetLastPInvokeError(). Demi.Transport.Xdp
/// and Demi.Transport.Dpdk reach it as <c>LibC</c> (a project-wide alias).
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLET = 0x80000000;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SO_REUSEPORT = 15;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_TRUNC = 0x20;
    public const int CLONE_NEWNET = 0x40000000;
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const ulong SIOCGIFMTU = 0x8921;
    public const ulong SIOCGIFHWADDR = 0x8927;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary>struct timespec (time.h), 64-bit.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sched_getaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport(Lib)]
    public static partial int gettid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    // No SetLastError: a failed wait (EINTR) is just an empty one, and errno costs two native calls.
    [LibraryImport(Lib)]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    /// <summary>
    /// epoll_wait with a nanosecond timeout (Linux 5.11): a shard whose NIC queue has no wait fd naps
    /// for tens of microseconds, which a millisecond timeout cannot express. No SetLastError, as for
    /// epoll_wait: a caller that sees -1 reads errno itself (Marshal.GetLastSystemError), for ENOSYS.
    /// </summary>
    [LibraryImport(Lib)]
    public static partial int epoll_pwait2(int epfd, EpollEvent* events, int maxevents, Timespec* timeout, void* sigmask);

    public const int PR_SET_TIMERSLACK = 29;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    /// <summary>epoll_wait with a zero timeout, without the GC transition: it cannot block (the busy shard polls it every round).</summary>
    [LibraryImport(Lib, EntryPoint = "epoll_wait")]
    [SuppressGCTransition]
    public static partial int epoll_poll(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bind(int fd, void* addr, uint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int listen(int fd, int backlog);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int accept4(int fd, void* addr, uint* len, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int connect(int fd, void* addr, uint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendto(int fd, void* buf, nuint len, int flags, void* addr, uint addrlen);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int recvmmsg(int fd, MMsgHdr* msgs, uint vlen, int flags, void* timeout);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sendmmsg(int fd, MMsgHdr* msgs, uint vlen, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, uint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getsockopt(int fd, int level, int name, void* value, uint* len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getpeername(int fd, void* addr, uint* len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getsockname(int fd, void* addr, uint* len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint recvfrom(int fd, void* buf, nuint len, int flags, void* addr, uint* addrlen);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);

    [LibraryImport(Lib)]
    public static partial uint geteuid();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint getenv(string name);

    // atexit itself is not exported by glibc (it lives in libc_nonshared.a); __cxa_atexit is what it calls.
    [LibraryImport(Lib)]
    public static partial int __cxa_atexit(delegate* unmanaged<void*, void> function, void* argument, void* dsoHandle);

    [LibraryImport(Lib)]
    private static partial nint strerror(int errnum);

    /// <summary>The C library's text for <paramref name="errno"/>.</summary>
    public static string StrError(int errno) => Marshal.PtrToStringUTF8(strerror(errno)) ?? errno.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// struct ifreq (linux/if.h) as SIOCGIFMTU and SIOCGIFHWADDR use it: the interface name, then a
    /// union holding the MTU or a struct sockaddr with the hardware address.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = Size)]
    public struct IfReq
    {
        public const int Size = 40;

        /// <summary>IFNAMSIZ: the name and its terminating NUL.</summary>
        public const int NameSize = 16;

        /// <summary>Bytes of an Ethernet hardware address in <see cref="HwAddr"/>.</summary>
        public const int EthernetAddressLength = 6;

        [FieldOffset(0)] public fixed byte Name[NameSize];

        /// <summary>ifr_mtu.</summary>
        [FieldOffset(NameSize)] public int Mtu;

        /// <summary>ifr_hwaddr.sa_family.</summary>
        [FieldOffset(NameSize)] public ushort HwAddrFamily;

        /// <summary>ifr_hwaddr.sa_data: the MAC for Ethernet.</summary>
        [FieldOffset(NameSize + sizeof(ushort))] public fixed byte HwAddr[14];
    }

    public static int LastErrno => Marshal.GetLastPInvokeError();
}
