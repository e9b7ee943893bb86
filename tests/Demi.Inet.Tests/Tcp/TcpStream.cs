using System.Security.Cryptography;
using Demi.Inet.Tcp;

namespace Demi.Inet.Tests.Tcp;

/// <summary>Test application on one socket: pushes a byte array (then half-closes), hashes what it receives until end of stream.</summary>
internal sealed class TcpStream : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _toSend;
    private int _sent;
    private bool _shutdown;

    public TcpStream(TcpSocket socket, byte[] toSend, bool shutdownWhenDone = true)
    {
        Socket = socket;
        _toSend = toSend;
        _shutdown = !shutdownWhenDone;
    }

    public TcpSocket Socket { get; }
    public long Received { get; private set; }
    public bool Eof { get; private set; }
    public int FailedWith { get; private set; }
    public bool AllSent => _sent == _toSend.Length;

    public void Pump()
    {
        while (_sent < _toSend.Length)
        {
            int rc = Socket.Send(_toSend.AsSpan(_sent, Math.Min(65536, _toSend.Length - _sent)), out int accepted);
            if (rc == Errno.EAGAIN)
                break;
            if (rc != 0)
            {
                FailedWith = rc;
                return;
            }
            _sent += accepted;
        }
        if (_sent == _toSend.Length && !_shutdown)
        {
            Assert.Equal(0, Socket.Shutdown(TcpShutdown.Write));
            _shutdown = true;
        }
        while (!Eof)
        {
            int rc = Socket.Receive(out var data);
            if (rc == Errno.EAGAIN)
                break;
            if (rc != 0)
            {
                FailedWith = rc;
                return;
            }
            if (data.Length == 0)
            {
                Eof = true;
                break;
            }
            _hash.AppendData(data.Span);
            Received += data.Length;
            data.Release();
        }
    }

    public byte[] Hash() => _hash.GetHashAndReset();

    public void Dispose() => _hash.Dispose();
}
