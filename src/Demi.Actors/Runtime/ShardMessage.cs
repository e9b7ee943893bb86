using Demi.Buffers;

namespace Demi.Runtime;

internal enum MessageKind : byte
{
    Push,
    Pop,
    Accept,
    Connect,
    Attach,
    Call,
}

/// <summary>One mailbox entry. A struct so that posting an operation allocates nothing.</summary>
internal struct ShardMessage
{
    public MessageKind Kind;
    public QueueActor? Actor;
    public ShardCall? Call;
    /// <summary>The operation's token, and a push's sga, buffer and destination (a connect's endpoint): a push is handed to its actor as <c>in Operation</c>.</summary>
    public PushRequest Operation;

    public ulong Qt { readonly get => Operation.Qt; set => Operation.Qt = value; }

    public Sga Sga { readonly get => Operation.Sga; set => Operation.Sga = value; }

    public BufferRef Buffer { readonly get => Operation.Buffer; set => Operation.Buffer = value; }

    public Ipv4Endpoint Endpoint { readonly get => Operation.Destination; set => Operation.Destination = value; }

    public bool HasEndpoint { readonly get => Operation.HasDestination; set => Operation.HasDestination = value; }
}

/// <summary>A control-plane call run on the shard while the caller waits (bind, listen, close, options).</summary>
internal sealed class ShardCall
{
    private readonly Func<int> _body;
    private readonly ManualResetEventSlim _done = new(false);
    private int _result;
    private Exception? _exception;

    public ShardCall(Func<int> body) => _body = body;

    public void Run()
    {
        try
        {
            _result = _body();
        }
        catch (Exception ex)
        {
            _exception = ex;
        }
        _done.Set();
    }

    public int WaitResult()
    {
        _done.Wait();
        _done.Dispose();
        if (_exception is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_exception);
        return _result;
    }
}
