using BenchmarkDotNet.Attributes;
using Demi.Buffers;
using Demi.Runtime;

namespace Demi.Micro;

/// <summary>
/// Per-operation runtime paths run on every shard at once (shards pinned to cores 0 and 1), to show
/// whether adding a shard adds contention: with nothing written by two shards, the cost per
/// operation at 2 shards stays that at 1 shard. <c>PoolBurst</c>: rent 32 pool buffers and release
/// them (a receive burst's buffer traffic). <c>TokenCycle</c>: a waited token's life on the shard
/// (allocate, complete, redeem with a zero-timeout <c>Wait</c>). <c>InlineCycle</c>: the shard-inline
/// echo cycle of <see cref="RuntimeBenchmarks.ShardInlinePingPong"/> (PostPush + PostPop from the Rx
/// handler, dispatch, completions, SgaFree), each shard on its own memory queue.
/// </summary>
[MemoryDiagnoser]
[MicroConfig]
public class ShardScalingBenchmarks
{
    /// <summary>Operations per shard per invocation.</summary>
    public const int N = 32 * 1024;

    private const int Burst = 32;

    private LibOS _os = null!;
    private BufferPool _pool = null!;
    private Func<ulong> _token = null!;
    private QueueActor[] _actors = null!;
    private Func<int>[] _poolLoops = null!;
    private Func<int>[] _tokenLoops = null!;
    private PingPong[] _pingPongs = null!;

    /// <summary>Shards running the path at the same time (1 or 2; pinned to cores 0..Shards-1).</summary>
    [Params(1, 2)]
    public int Shards { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _os = new LibOS(new LibOSOptions { Cores = Shards == 1 ? "0" : $"0-{Shards - 1}" });
        _pool = _os.Buffers.Pool;
        _token = RuntimeInternals.TokenAllocator(_os);
        _actors = new QueueActor[Shards];
        for (int made = 0; made < 4 * Shards && _actors.Any(a => a is null); made++)
        {
            if (_os.Queue(out int qd) != 0)
                throw new InvalidOperationException("Cannot create a memory queue.");
            var actor = _os.GetActor(qd)!;
            _actors[actor.Shard.Id] ??= actor;
        }
        _poolLoops = _actors.Select(a => (Func<int>)PoolLoop).ToArray();
        _tokenLoops = _actors.Select(a => (Func<int>)(() => TokenLoop(a))).ToArray();
        _pingPongs = _actors.Select(a => new PingPong(_os, a)).ToArray();
        if (PoolBurst() != 0 || TokenCycle() != 0 || InlineCycle() != 0)
            throw new InvalidOperationException("A shard loop failed during set-up.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in _pingPongs)
            p.Dispose();
        _os.Dispose();
    }

    /// <summary>Rent 32 buffers, release them, repeated; per buffer.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int PoolBurst() => RunOnAllShards(_poolLoops);

    /// <summary>Allocate, complete and redeem a token on each shard; per token.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int TokenCycle() => RunOnAllShards(_tokenLoops);

    /// <summary>The shard-inline echo cycle on each shard's own memory queue; per cycle.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int InlineCycle()
    {
        foreach (var p in _pingPongs)
            p.Start(N);
        int failures = 0;
        foreach (var p in _pingPongs)
            failures += p.Finish();
        return failures;
    }

    // Every shard runs its loop at the same time; returns the number of failures.
    private int RunOnAllShards(Func<int>[] loops)
    {
        var tasks = new Task<int>[loops.Length];
        for (int i = 0; i < loops.Length; i++)
        {
            var shard = _actors[i].Shard;
            var loop = loops[i];
            tasks[i] = Task.Factory.StartNew(() => shard.Invoke(loop), TaskCreationOptions.LongRunning);
        }
        Task.WaitAll(tasks);
        return tasks.Sum(t => t.Result);
    }

    private int PoolLoop()
    {
        Span<int> rented = stackalloc int[Burst];
        int failures = 0;
        for (int done = 0; done < N; done += Burst)
        {
            for (int i = 0; i < Burst; i++)
            {
                if (!_pool.TryRent(out rented[i]))
                    return failures + 1;
            }
            for (int i = 0; i < Burst; i++)
                _pool.Release(rented[i]);
        }
        return failures;
    }

    private int TokenLoop(QueueActor actor)
    {
        int failures = 0;
        for (int i = 0; i < N; i++)
        {
            ulong qt = _token();
            RuntimeInternals.Complete(_os, actor, new QResult { Opcode = Opcode.Push, Qd = actor.Qd, Qt = qt });
            if (qt == 0 || _os.Wait(out _, qt, TimeSpan.Zero) != 0)
                failures++;
        }
        return failures;
    }

    // One shard's ping-pong: every pop completion pushes the popped buffer back, drops the pop's
    // reference and posts the next pop, all from the Rx handler on the shard's thread.
    private sealed class PingPong : IDisposable
    {
        private readonly LibOS _os;
        private readonly int _qd;
        private readonly IDisposable _subscription;
        private readonly ManualResetEventSlim _done = new(false, spinCount: 1);
        private Sga _sga;
        private int _remaining;
        private int _failures;

        public PingPong(LibOS os, QueueActor actor)
        {
            _os = os;
            _qd = actor.Qd;
            _subscription = actor.Shard.Completions.Subscribe(OnCompletion);
            _sga = os.SgaAlloc(64);
            if (os.PostPop(_qd) != 0)
                throw new InvalidOperationException("Cannot post the first pop.");
        }

        public void Start(int cycles)
        {
            _remaining = cycles;
            _failures = 0;
            _done.Reset();
            if (_os.PostPush(_qd, _sga) != 0)
                _failures++;
        }

        public int Finish()
        {
            if (!_done.Wait(TimeSpan.FromSeconds(30)))
                return 1;
            return _failures;
        }

        private void OnCompletion(QResult r)
        {
            if (r.Qd != _qd)
                return;
            if (r.Opcode == Opcode.Failed)
            {
                _failures++;
                _done.Set();
                return;
            }
            if (r.Opcode != Opcode.Pop)
                return; // push completions: the memory queue already handed the buffer to the pop
            if (--_remaining > 0 && _os.PostPush(_qd, r.Sga) != 0)
                _failures++;
            _os.SgaFree(r.Sga);
            if (_os.PostPop(_qd) != 0)
                _failures++;
            if (_remaining == 0)
                _done.Set();
        }

        public void Dispose()
        {
            _subscription.Dispose();
            _os.SgaFree(_sga);
        }
    }
}
