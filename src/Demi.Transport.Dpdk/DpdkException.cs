namespace Demi.Transport.Dpdk;

/// <summary>DPDK could not be set up (EAL, device, port or pool); the message says which step and why.</summary>
public sealed class DpdkException : Exception
{
    /// <summary>A failure with an errno (from rte_errno or a negative return value).</summary>
    public DpdkException(string message, int errno) : base(message) => Errno = errno;

    /// <summary>A failure found before calling DPDK (configuration, machine).</summary>
    public DpdkException(string message) : base(message)
    {
    }

    /// <summary>The errno DPDK reported, or 0 when the check was Demi's own.</summary>
    public int Errno { get; }
}
