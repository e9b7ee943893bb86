namespace Demi.Runtime;

/// <summary>
/// Optionally implemented by an <see cref="INetworkBackend"/> that needs to know where sockets
/// live, for example to steer a bound port's traffic to the socket's shard. Both calls run on the
/// socket's shard thread.
/// </summary>
public interface ISocketBindingObserver
{
    /// <summary>The socket was bound (its local port is final: port 0 has been resolved).</summary>
    void OnBound(SocketActor socket);

    /// <summary>The socket is about to close (it is still bound).</summary>
    void OnClosing(SocketActor socket);
}
