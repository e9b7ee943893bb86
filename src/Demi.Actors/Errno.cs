namespace Demi;

/// <summary>Linux errno numbers used by the Demi API. Every call returns 0 or one of these.</summary>
public static class Errno
{
    /// <summary>Operation not permitted.</summary>
    public const int EPERM = 1;
    /// <summary>No such file or directory.</summary>
    public const int ENOENT = 2;
    /// <summary>Interrupted system call.</summary>
    public const int EINTR = 4;
    /// <summary>Input/output error.</summary>
    public const int EIO = 5;
    /// <summary>Bad file (queue) descriptor.</summary>
    public const int EBADF = 9;
    /// <summary>Resource temporarily unavailable; try again.</summary>
    public const int EAGAIN = 11;
    /// <summary>Out of memory (for example no buffer could be allocated).</summary>
    public const int ENOMEM = 12;
    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;
    /// <summary>Device or resource busy.</summary>
    public const int EBUSY = 16;
    /// <summary>Already exists.</summary>
    public const int EEXIST = 17;
    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>Too many open descriptors.</summary>
    public const int EMFILE = 24;
    /// <summary>The call would deadlock (for example waiting on a shard from its own thread).</summary>
    public const int EDEADLK = 35;
    /// <summary>No space left on device.</summary>
    public const int ENOSPC = 28;
    /// <summary>Broken pipe: the connection can no longer send.</summary>
    public const int EPIPE = 32;
    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;
    /// <summary>The descriptor is not a socket.</summary>
    public const int ENOTSOCK = 88;
    /// <summary>Destination (or local) address required.</summary>
    public const int EDESTADDRREQ = 89;
    /// <summary>Message too long.</summary>
    public const int EMSGSIZE = 90;
    /// <summary>Protocol wrong type for socket.</summary>
    public const int EPROTOTYPE = 91;
    /// <summary>Protocol (socket option) not available.</summary>
    public const int ENOPROTOOPT = 92;
    /// <summary>Protocol not supported.</summary>
    public const int EPROTONOSUPPORT = 93;
    /// <summary>Socket type not supported.</summary>
    public const int ESOCKTNOSUPPORT = 94;
    /// <summary>Operation not supported (ENOTSUP and EOPNOTSUPP are the same number on Linux).</summary>
    public const int ENOTSUP = 95;
    /// <summary>Address family not supported.</summary>
    public const int EAFNOSUPPORT = 97;
    /// <summary>Address already in use.</summary>
    public const int EADDRINUSE = 98;
    /// <summary>Cannot assign the requested address.</summary>
    public const int EADDRNOTAVAIL = 99;
    /// <summary>Network is down.</summary>
    public const int ENETDOWN = 100;
    /// <summary>Network is unreachable.</summary>
    public const int ENETUNREACH = 101;
    /// <summary>Connection aborted.</summary>
    public const int ECONNABORTED = 103;
    /// <summary>Connection reset by peer.</summary>
    public const int ECONNRESET = 104;
    /// <summary>No buffer space available.</summary>
    public const int ENOBUFS = 105;
    /// <summary>The socket is already connected.</summary>
    public const int EISCONN = 106;
    /// <summary>The socket is not connected.</summary>
    public const int ENOTCONN = 107;
    /// <summary>Connection timed out.</summary>
    public const int ETIMEDOUT = 110;
    /// <summary>Connection refused.</summary>
    public const int ECONNREFUSED = 111;
    /// <summary>No route to host.</summary>
    public const int EHOSTUNREACH = 113;
    /// <summary>Operation already in progress.</summary>
    public const int EALREADY = 114;
    /// <summary>Operation now in progress.</summary>
    public const int EINPROGRESS = 115;
    /// <summary>Operation canceled (pending operations of a closed descriptor complete with it).</summary>
    public const int ECANCELED = 125;

    /// <summary>The symbolic name of an errno ("EINVAL"), or its number when unknown.</summary>
    public static string Name(long errno) => errno switch
    {
        0 => "OK",
        EPERM => nameof(EPERM), ENOENT => nameof(ENOENT), EINTR => nameof(EINTR), EIO => nameof(EIO),
        EBADF => nameof(EBADF), EAGAIN => nameof(EAGAIN), ENOMEM => nameof(ENOMEM), EFAULT => nameof(EFAULT),
        EBUSY => nameof(EBUSY), EEXIST => nameof(EEXIST), EDEADLK => nameof(EDEADLK), EINVAL => nameof(EINVAL), EMFILE => nameof(EMFILE),
        ENOSPC => nameof(ENOSPC), EPIPE => nameof(EPIPE), ENOSYS => nameof(ENOSYS), ENOTSOCK => nameof(ENOTSOCK),
        EDESTADDRREQ => nameof(EDESTADDRREQ), EMSGSIZE => nameof(EMSGSIZE), EPROTOTYPE => nameof(EPROTOTYPE),
        ENOPROTOOPT => nameof(ENOPROTOOPT), EPROTONOSUPPORT => nameof(EPROTONOSUPPORT),
        ESOCKTNOSUPPORT => nameof(ESOCKTNOSUPPORT), ENOTSUP => nameof(ENOTSUP), EAFNOSUPPORT => nameof(EAFNOSUPPORT),
        EADDRINUSE => nameof(EADDRINUSE), EADDRNOTAVAIL => nameof(EADDRNOTAVAIL), ENETDOWN => nameof(ENETDOWN),
        ENETUNREACH => nameof(ENETUNREACH), ECONNABORTED => nameof(ECONNABORTED), ECONNRESET => nameof(ECONNRESET),
        ENOBUFS => nameof(ENOBUFS), EISCONN => nameof(EISCONN), ENOTCONN => nameof(ENOTCONN),
        ETIMEDOUT => nameof(ETIMEDOUT), ECONNREFUSED => nameof(ECONNREFUSED), EHOSTUNREACH => nameof(EHOSTUNREACH),
        EALREADY => nameof(EALREADY), EINPROGRESS => nameof(EINPROGRESS), ECANCELED => nameof(ECANCELED),
        _ => errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
