namespace Demi.Runtime;

/// <summary>How the caller will collect an operation's result.</summary>
internal enum Redemption : byte
{
    /// <summary>A queue token redeemed by <c>Wait</c>, <c>WaitAny</c> or <c>WaitNextN</c>.</summary>
    Wait,

    /// <summary>A token whose slot is the <see cref="ValueTask{TResult}"/> source an awaiter redeems.</summary>
    Await,

    /// <summary>No token: the result only goes to the Rx streams (with Qt 0).</summary>
    Detached,
}

/// <summary>An asynchronous operation as the caller names it, before validation: what and, for connect or pushto, where.</summary>
internal readonly struct Operation
{
    private Operation(MessageKind kind, in Sga sga, Ipv4Endpoint endpoint, bool hasEndpoint)
    {
        Kind = kind;
        Sga = sga;
        Endpoint = endpoint;
        HasEndpoint = hasEndpoint;
    }

    public MessageKind Kind { get; }

    public Sga Sga { get; }

    public Ipv4Endpoint Endpoint { get; }

    /// <summary>True for connect and pushto (the endpoint is meaningful).</summary>
    public bool HasEndpoint { get; }

    public static Operation Pop() => new(MessageKind.Pop, default, default, false);

    public static Operation Push(in Sga sga) => new(MessageKind.Push, sga, default, false);

    public static Operation PushTo(in Sga sga, Ipv4Endpoint destination) => new(MessageKind.Push, sga, destination, true);

    public static Operation Accept() => new(MessageKind.Accept, default, default, false);

    public static Operation Connect(Ipv4Endpoint remote) => new(MessageKind.Connect, default, remote, true);
}
