namespace Demi;

/// <summary>Raised by the idiomatic (async, typed) layers when an operation fails; carries the errno.</summary>
public sealed class DemiException : Exception
{
    /// <summary>Creates the exception for <paramref name="errno"/>; the default message is its name and number.</summary>
    public DemiException(int errno, string? message = null)
        : base(message ?? $"{Errno.Name(errno)} ({errno})")
    {
        ErrorCode = errno;
    }

    /// <summary>The Linux errno of the failure.</summary>
    public int ErrorCode { get; }
}
