using Demi.Inet.Tcp.Internal;
using Demi.Runtime;

namespace Demi.Inet.Tcp;

/// <summary>
/// Plugs TCP into <see cref="InetBackend"/> (set it as <see cref="InetBackend.StreamTransport"/>):
/// each shard's stack gets a <see cref="TcpLayer"/>, and SOCK_STREAM descriptors become socket
/// actors over <see cref="TcpSocket"/>s of their shard's layer.
/// </summary>
public sealed class TcpTransport : IInetTransportFactory
{
    /// <summary>Creates the transport; every shard's layer gets its own copy of <paramref name="config"/>'s values.</summary>
    public TcpTransport(Func<TcpConfig>? config = null) => Config = config ?? (() => new TcpConfig());

    /// <summary>Makes the configuration of each shard's layer.</summary>
    public Func<TcpConfig> Config { get; }

    /// <inheritdoc />
    public int SocketType => SocketConstants.SOCK_STREAM;

    /// <inheritdoc />
    public IIpProtocolHandler CreateHandler(InetStack stack) => new TcpLayer(stack, Config());

    /// <inheritdoc />
    public int AfterPoll(IIpProtocolHandler handler)
    {
        ((TcpLayer)handler).DispatchEvents();
        return 0;
    }

    /// <inheritdoc />
    public int CreateSocket(Shard shard, out SocketActor? socket)
    {
        socket = new TcpSocketActor(shard, null);
        return 0;
    }

    /// <summary>The TCP layer of <paramref name="shard"/> (null before the shard started); use only on that shard's thread.</summary>
    public static TcpLayer? LayerOf(Shard shard) => InetBackend.HandlerOf(shard) as TcpLayer;
}
