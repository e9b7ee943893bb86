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
    public ulong Qt;
    public Sga Sga;
    public BufferRef Buffer;
    public Ipv4Endpoint Endpoint;
    public bool HasEndpoint;
    public ShardCall? Call;
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
