using BenchmarkDotNet.Attributes;
using Demi.Runtime;

namespace Demi.Micro;

/// <summary>
/// The runtime's per-operation costs with no network under them (kernel backend, one memory queue,
/// one unpinned shard): a mailbox hop, completion publishing, token cycles, and the shard-inline
/// Post* loop that the UDP echo server runs (a pop completion posts a push and a pop from the Rx
/// handler on the shard thread).
/// </summary>
[MemoryDiagnoser]
[MicroConfig]
public class RuntimeBenchmarks
{
    /// <summary>Operations per invocation of the shard-driven benchmarks (amortizes the one wake-up per invocation).</summary>
    public const int N = 1024;

    private const int ModePingPong = 1;
    private const int ModeCrossThread = 2;

    private LibOS _os = null!;
    private Shard _shard = null!;
    private QueueActor _actor = null!;
    private IDisposable _subscription = null!;
    private Func<ulong> _waitableToken = null!;
    private readonly ManualResetEventSlim _done = new(false, spinCount: 1);
    private int _mq;
    private Sga _sga;
    private int _mode;
    private int _remaining;
    private long _published;
    private long _failures;

    [GlobalSetup]
    public void Setup()
    {
        _os = new LibOS(new LibOSOptions { ShardCount = 1 });
        _shard = _os.Shards[0];
        _subscription = _shard.Completions.Subscribe(OnCompletion);
        Check(_os.Queue(out _mq));
        _actor = _os.GetActor(_mq)!;
        _sga = _os.SgaAlloc(64);
        _waitableToken = RuntimeInternals.TokenAllocator(_os);
        Check(_os.PostPop(_mq)); // the loops below always keep one pop pending
        // Each shard-driven benchmark must actually complete its N operations (else it would hang):
        // run each once so a broken path fails here, with a message, instead.
        ShardInlinePingPong();
        MailboxCrossThread();
        if (TokenWait() != 0 || Volatile.Read(ref _failures) != 0)
            throw new InvalidOperationException("A runtime path failed during set-up.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _subscription.Dispose();
        _os.SgaFree(_sga);
        _os.Dispose();
    }

    // Runs on the shard thread (and, for the Publish* benchmarks, on the benchmark thread while the shard is idle).
    private void OnCompletion(QResult r)
    {
        if (r.Qd != _mq)
        {
            _published++;
            return;
        }
        if (r.Opcode == Opcode.Failed)
        {
            Interlocked.Increment(ref _failures);
            return;
        }
        if (r.Opcode != Opcode.Pop)
            return; // push completions: the memory queue already handed the buffer to the pop
        if (_mode == ModePingPong)
        {
            if (--_remaining > 0)
                _os.PostPush(_mq, r.Sga); // the echo's shape: push the popped buffer back...
            _os.SgaFree(r.Sga);          // ...drop the pop's reference (the push holds its own)...
            _os.PostPop(_mq);            // ...and keep a pop posted
            if (_remaining == 0)
                _done.Set();
            return;
        }
        _os.SgaFree(r.Sga);
        _os.PostPop(_mq);
        if (--_remaining == 0)
            _done.Set();
    }

    /// <summary>
    /// One cycle of the shard-inline loop, all on the shard thread: Rx handler → PostPush + PostPop
    /// (validation, tokens, refcount, 2 mailbox writes) → 2 dispatches → memory queue → push and pop
    /// completions published → handler → SgaFree. This is the runtime's share of one UDP echo.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int ShardInlinePingPong()
    {
        _mode = ModePingPong;
        _remaining = N;
        _done.Reset();
        Check(_os.PostPush(_mq, _sga));
        _done.Wait();
        return _remaining;
    }

    /// <summary>
    /// Mailbox hop from another thread: the benchmark thread posts N pushes, the shard dispatches them
    /// (each completes the pending pop, whose handler frees the buffer and posts the next pop).
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int MailboxCrossThread()
    {
        _mode = ModeCrossThread;
        _remaining = N;
        _done.Reset();
        for (int i = 0; i < N; i++)
            Check(_os.PostPush(_mq, _sga));
        _done.Wait();
        return _remaining;
    }

    /// <summary>LibOS.Complete → one Rx subscriber (per-shard stream), for a token the table does not know.</summary>
    [Benchmark]
    public long PublishRx()
    {
        RuntimeInternals.Complete(_os, _actor, new QResult { Opcode = Opcode.Push, Qd = -1, Qt = 0 });
        return _published;
    }

    /// <summary>A waited token's life: allocate → LibOS.Complete (Rx subscriber, token completed, waiters signalled) → Wait consumes it.</summary>
    [Benchmark]
    public int TokenWait()
    {
        ulong qt = _waitableToken();
        RuntimeInternals.Complete(_os, _actor, new QResult { Opcode = Opcode.Push, Qd = -1, Qt = qt });
        int err = _os.Wait(out var result, qt, TimeSpan.Zero);
        return err != 0 ? err : result.Qt == qt ? 0 : -1;
    }

    private static void Check(int err)
    {
        if (err != 0)
            throw new InvalidOperationException($"Demi call failed: errno {err} ({Errno.Name(err)})");
    }
}
