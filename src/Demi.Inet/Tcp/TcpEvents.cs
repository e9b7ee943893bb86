namespace Demi.Inet.Tcp;

/// <summary>What happened on a socket, reported to its <see cref="ITcpSocketObserver"/>.</summary>
[Flags]
public enum TcpEvents
{
    None = 0,
    /// <summary>A listening socket has a connection ready for <see cref="TcpSocket.Accept"/>.</summary>
    Accept = 1,
    /// <summary>An active open completed (the socket is established).</summary>
    Connected = 2,
    /// <summary>Data (or end of stream) is ready for <see cref="TcpSocket.Receive(out Demi.Buffers.PacketBuffer)"/>.</summary>
    Readable = 4,
    /// <summary>The send buffer has room again.</summary>
    Writable = 8,
    /// <summary>The connection failed (refused, reset, timed out); <see cref="TcpSocket.Error"/> holds the errno.</summary>
    Error = 16,
    /// <summary>The connection is gone for good (its state reached Closed).</summary>
    Closed = 32,
}
