namespace Demi.Runtime;

/// <summary>
/// A socket queue. Control operations (bind, listen, options) run on the owning shard while the
/// caller waits; data operations are posted and complete asynchronously.
/// </summary>
public abstract class SocketActor : QueueActor
{
    /// <summary>Creates a socket actor of <paramref name="socketType"/> owned by <paramref name="shard"/>.</summary>
    protected SocketActor(Shard shard, int socketType)
        : base(shard)
    {
        SocketType = socketType;
    }

    /// <summary>SOCK_STREAM or SOCK_DGRAM.</summary>
    public int SocketType { get; }

    private volatile bool _listening;

    /// <summary>Set once <c>Listen</c> succeeded, so accept and connect can be checked on the caller's thread.</summary>
    public bool IsListening
    {
        get => _listening;
        internal set => _listening = value;
    }

    /// <summary>Binds to a local address (already validated as an AF_INET sockaddr). 0 or errno.</summary>
    protected internal abstract int Bind(Ipv4Endpoint local);

    /// <summary>Starts listening (backlog already range-checked). 0 or errno (EDESTADDRREQ if unbound, ...).</summary>
    protected internal abstract int Listen(int backlog);

    /// <summary>An accept arrived; complete it with an Accept result naming the new descriptor.</summary>
    protected internal abstract void OnAccept(ulong qt);

    /// <summary>A connect arrived; complete it with a Connect result or fail it.</summary>
    protected internal abstract void OnConnect(ulong qt, Ipv4Endpoint remote);

    /// <summary>Sets an option; ENOPROTOOPT for options the socket does not know.</summary>
    protected internal virtual int SetOption(int level, int name, ReadOnlySpan<byte> value) => Errno.ENOPROTOOPT;

    /// <summary>Reads an option into <paramref name="value"/>; ENOPROTOOPT for options the socket does not know.</summary>
    protected internal virtual int GetOption(int level, int name, Span<byte> value, out int length)
    {
        length = 0;
        return Errno.ENOPROTOOPT;
    }

    /// <summary>The connected peer; ENOTCONN when not connected, ENOTSUP for datagram sockets.</summary>
    protected internal abstract int GetPeerName(out Ipv4Endpoint peer);

    /// <summary>The bound local address, if any.</summary>
    protected internal virtual int GetSockName(out Ipv4Endpoint local)
    {
        local = default;
        return Errno.ENOTSUP;
    }

    /// <summary>Gives an accepted connection its own descriptor and returns it (call on the shard).</summary>
    protected int RegisterAccepted(SocketActor connection) => LibOS.RegisterAccepted(connection);

    /// <summary>Completes an accept with the new descriptor and the peer's address.</summary>
    protected void CompleteAccept(ulong qt, int newQd, Ipv4Endpoint peer)
        => Complete(new QResult { Opcode = Opcode.Accept, Qd = Qd, Qt = qt, AcceptedQd = newQd, AcceptedAddress = peer.ToSockAddr() });

    /// <summary>Completes a connect.</summary>
    protected void CompleteConnect(ulong qt) => Complete(QResult.Ok(Opcode.Connect, Qd, qt));
}
