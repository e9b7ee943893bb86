namespace Demi;

/// <summary>Raised by the idiomatic (async, typed) layers when an operation fails; carries the errno.</summary>
public sealed class DemiException : Exception
{
    public DemiException(int errno, string? message = null)
        : base(message ?? $"{Errno.Name(errno)} ({errno})")
    {
        ErrorCode = errno;
    }

    /// <summary>The Linux errno of the failure.</summary>
    public int ErrorCode { get; }
}
