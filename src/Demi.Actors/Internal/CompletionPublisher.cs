using System.Reactive.Linq;
using System.Reactive.Subjects;
using Demi.Runtime;

namespace Demi.Internal;

/// <summary>
/// The completion side: publishes each result on the Rx streams (the descriptor's, the shard's, the
/// libOS-wide one) and then hands it to its token's waiter. Runs on shard threads.
/// </summary>
internal sealed class CompletionPublisher : IDisposable
{
    private readonly Subject<QResult> _all = new();
    private readonly object _allGate = new();
    private readonly TokenTable _tokens;
    private readonly Action<Shard, Exception> _reportFault;

    public CompletionPublisher(TokenTable tokens, Action<Shard, Exception> reportFault)
    {
        _tokens = tokens;
        _reportFault = reportFault;
    }

    /// <summary>Every completion of the libOS.</summary>
    public IObservable<QResult> All => _all.AsObservable();

    /// <summary>Publishes a completion: Rx subscribers first, then the token's waiter.</summary>
    public void Complete(QueueActor actor, in QResult result)
    {
        var shard = actor.Shard;
        var perShard = shard.CompletionStream;
        var perActor = actor.CompletionSubjectIfAny;
        if (perShard.HasObservers || _all.HasObservers || perActor is { HasObservers: true })
            Publish(shard, perShard, perActor, result);
        if (result.Qt == 0)
            shard.Detached.Release(); // a fire-and-forget operation finished
        else
            _tokens.Complete(result, shard.Id); // wakes the token's waiter, if one is parked
    }

    // A throwing subscriber must not disturb the actor that is completing: report it and carry on.
    private void Publish(Shard shard, ShardCompletions perShard, Subject<QResult>? perActor, in QResult result)
    {
        try
        {
            if (perActor is { HasObservers: true })
                perActor.OnNext(result);
            if (perShard.HasObservers)
                perShard.Publish(result);
            if (_all.HasObservers)
            {
                // Shards complete concurrently; Rx requires serialized OnNext calls.
                lock (_allGate)
                    _all.OnNext(result);
            }
        }
        catch (Exception ex)
        {
            _reportFault(shard, ex);
        }
    }

    /// <summary>Completes the libOS-wide stream (at dispose, after the shards stopped).</summary>
    public void Dispose()
    {
        _all.OnCompleted();
        _all.Dispose();
    }
}
