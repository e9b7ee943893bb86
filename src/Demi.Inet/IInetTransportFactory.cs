using Demi.Runtime;

namespace Demi.Inet;

/// <summary>
/// Plugs a transport other than UDP (TCP) into <see cref="InetBackend"/>: one protocol handler per shard's
/// stack, and socket actors built on it. The TCP layer implements this so that the backend does not
/// depend on it.
/// </summary>
public interface IInetTransportFactory
{
    /// <summary>The socket type served (SOCK_STREAM).</summary>
    int SocketType { get; }

    /// <summary>Creates the shard's handler (registered with <paramref name="stack"/> by the backend). Runs on the shard thread.</summary>
    IIpProtocolHandler CreateHandler(InetStack stack);

    /// <summary>Runs after each poll of the shard's stack (to publish events batched during the poll). Returns work done.</summary>
    int AfterPoll(IIpProtocolHandler handler);

    /// <summary>
    /// Creates a socket actor on <paramref name="shard"/> (caller's thread; the actor reaches the shard's
    /// handler through <see cref="InetBackend.HandlerOf"/> once attached). Returns 0 or an errno.
    /// </summary>
    int CreateSocket(Shard shard, out SocketActor? socket);
}
