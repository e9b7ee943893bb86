namespace Demi.Transport.Xdp;

/// <summary>An AF_XDP, libxdp/libbpf, or namespace set-up step failed; carries the Linux errno.</summary>
public sealed class XdpException : Exception
{
    /// <summary>Creates the exception for step <paramref name="what"/> failing with <paramref name="errno"/>.</summary>
    public XdpException(string what, int errno)
        : base($"{what} failed: errno {errno} ({LibC.StrError(errno)})")
    {
        Errno = errno;
    }

    /// <summary>Creates the exception with a message only (errno 0).</summary>
    public XdpException(string message) : base(message)
    {
    }

    /// <summary>The positive Linux errno, or 0.</summary>
    public int Errno { get; }

    /// <summary>
    /// Set when <see cref="XdpMode.Auto"/> found native mode unavailable: the failed attach left the socket
    /// bound, so generic mode needs a fresh socket and UMEM (the opener retries with them).
    /// </summary>
    internal string? NativeModeFailure { get; init; }
}
