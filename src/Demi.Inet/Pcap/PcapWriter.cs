using System.Buffers.Binary;

namespace Demi.Inet.Pcap;

/// <summary>
/// Writes frames to a classic pcap file (microsecond timestamps, link type Ethernet), the format
/// <c>tcpdump -r</c> and <c>tshark -r</c> read. Not thread-safe: one writer per NIC queue.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private const uint Magic = 0xA1B2C3D4;
    private const int LinkTypeEthernet = 1;

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly byte[] _recordHeader = new byte[16];

    /// <summary>Creates (or truncates) the file at <paramref name="path"/>.</summary>
    public PcapWriter(string path, int snapLength = 65535)
        : this(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), snapLength, ownsStream: true)
    {
    }

    /// <summary>Writes to <paramref name="stream"/>.</summary>
    public PcapWriter(Stream stream, int snapLength = 65535, bool ownsStream = false)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        SnapLength = snapLength;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);   // thiszone
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], snapLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], LinkTypeEthernet);
        _stream.Write(header);
    }

    /// <summary>Largest number of bytes kept of each frame.</summary>
    public int SnapLength { get; }

    /// <summary>Frames written.</summary>
    public long Frames { get; private set; }

    /// <summary>Appends one frame stamped with the current wall-clock time.</summary>
    public void Write(ReadOnlySpan<byte> frame) => Write(frame, DateTime.UtcNow);

    /// <summary>Appends one frame with the given timestamp.</summary>
    public void Write(ReadOnlySpan<byte> frame, DateTime timestampUtc)
    {
        long ticks = timestampUtc.Ticks - DateTime.UnixEpoch.Ticks;
        int captured = Math.Min(frame.Length, SnapLength);
        var header = _recordHeader.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(ticks / TimeSpan.TicksPerSecond));
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(ticks % TimeSpan.TicksPerSecond / 10));
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], captured);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], frame.Length);
        _stream.Write(header);
        _stream.Write(frame[..captured]);
        Frames++;
    }

    /// <summary>Pushes buffered records to the file.</summary>
    public void Flush() => _stream.Flush();

    public void Dispose()
    {
        _stream.Flush();
        if (_ownsStream)
            _stream.Dispose();
    }
}
