namespace Demi.Orleans;

/// <summary>
/// A received datagram or chunk of stream bytes, still in the libOS buffer it arrived in (no copy).
/// The grain owns it: read <see cref="Data"/>, then <see cref="Dispose"/> it to give the buffer back.
/// </summary>
public readonly struct DemiDatagram : IDisposable
{
    private readonly LibOS _libOS;
    private readonly Sga _sga;

    internal DemiDatagram(LibOS libOS, in Sga sga)
    {
        _libOS = libOS;
        _sga = sga;
    }

    /// <summary>The payload (valid until disposed).</summary>
    public ReadOnlySpan<byte> Data => _sga.Span;

    /// <summary>Payload length.</summary>
    public int Length => _sga.Length;

    /// <summary>The sender (UDP); default for TCP bytes.</summary>
    public Ipv4Endpoint From => _sga.Address.Endpoint;

    /// <summary>The underlying sga, for zero-copy forwarding with the libOS API (do not free it twice).</summary>
    public Sga Sga => _sga;

    /// <summary>A copy that outlives the buffer (for Orleans messages and storage).</summary>
    public byte[] ToArray() => _sga.ToArray();

    /// <summary>Gives the buffer back to the libOS.</summary>
    public void Dispose() => _libOS?.SgaFree(_sga);
}
