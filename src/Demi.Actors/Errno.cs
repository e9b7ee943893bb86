namespace Demi;

/// <summary>Linux errno numbers used by the Demi API. Every call returns 0 or one of these.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int EDEADLK = 35;
    public const int ENOSPC = 28;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    public const int ENOTSOCK = 88;
    public const int EDESTADDRREQ = 89;
    public const int EMSGSIZE = 90;
    public const int EPROTOTYPE = 91;
    public const int ENOPROTOOPT = 92;
    public const int EPROTONOSUPPORT = 93;
    public const int ESOCKTNOSUPPORT = 94;
    /// <summary>Operation not supported (ENOTSUP and EOPNOTSUPP are the same number on Linux).</summary>
    public const int ENOTSUP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ENOBUFS = 105;
    public const int EISCONN = 106;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EHOSTUNREACH = 113;
    public const int EALREADY = 114;
    public const int EINPROGRESS = 115;
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
