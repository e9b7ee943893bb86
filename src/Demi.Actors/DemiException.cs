namespace Demi;

/// <summary>
/// Raised by the idiomatic (async, typed) layers when an operation fails; carries the errno and, when
/// the layer knows them, the operation and the endpoint it ran on, so a log line says what failed where.
/// </summary>
public sealed class DemiException : Exception
{
    /// <summary>Creates the exception for <paramref name="errno"/>; the default message is its name and number.</summary>
    public DemiException(int errno, string? message = null)
        : base(message ?? $"{Errno.Name(errno)} ({errno})")
    {
        ErrorCode = errno;
    }

    /// <summary>
    /// Creates the exception for <paramref name="operation"/> on descriptor <paramref name="qd"/>; the
    /// message names the operation, the descriptor, the endpoint and the errno, e.g.
    /// "PopAsync on qd 501 (tcp 127.0.0.1:40000 -> 127.0.0.1:8080) failed: ECONNRESET (104)".
    /// </summary>
    public DemiException(int errno, string operation, int qd, string? endpoint)
        : base($"{operation} on qd {qd}{(endpoint is null ? "" : $" ({endpoint})")} failed: {Errno.Name(errno)} ({errno})")
    {
        ErrorCode = errno;
        Operation = operation;
        Qd = qd;
        Endpoint = endpoint;
    }

    /// <summary>The Linux errno of the failure.</summary>
    public int ErrorCode { get; }

    /// <summary>The operation that failed (for example "AcceptAsync"), when known.</summary>
    public string? Operation { get; }

    /// <summary>The queue descriptor the operation ran on, or -1 when not known.</summary>
    public int Qd { get; } = -1;

    /// <summary>The endpoint(s) of the descriptor ("tcp 10.0.0.1:7 -> 10.0.0.2:4000", "udp 0.0.0.0:53"), when known.</summary>
    public string? Endpoint { get; }
}
