using System.Diagnostics;
using Demi.Runtime;

namespace Demi.Internal;

/// <summary>
/// The drain half of <c>LibOS.Dispose</c>: polls the actors on their shards until queued pushes have
/// gone out and closed connections have finished, or the timeout passes; then resets the rest.
/// </summary>
internal sealed class ShutdownDrain
{
    // How often the drain looks at the actors again (each look is one control call per actor).
    private const int PollIntervalMs = 2;

    private readonly List<QueueActor> _actors;
    private readonly long _deadline;

    public ShutdownDrain(List<QueueActor> actors, TimeSpan timeout)
    {
        _actors = actors;
        _deadline = Stopwatch.GetTimestamp() + (long)(Math.Max(0, timeout.TotalSeconds) * Stopwatch.Frequency);
    }

    /// <summary>Waits until no actor holds a push it has not handed on (before the descriptors close).</summary>
    public void WaitForQueuedPushes() => WaitUntil(actor => !actor.HasUnsentData);

    /// <summary>
    /// After the closes: waits for connections finishing in the background, then resets what is left.
    /// <paramref name="finishing"/> is how many were still finishing right after their close.
    /// </summary>
    public ShutdownReport WaitForConnections(int finishing)
    {
        var left = WaitUntil(actor => !actor.IsFinishing);
        int reset = left.Count(actor => Ask(actor, actor.OnDrainTimedOut, unreachable: false));
        return new ShutdownReport(finishing - reset, reset);
    }

    // Returns the actors still not satisfying the condition at the deadline.
    private List<QueueActor> WaitUntil(Func<QueueActor, bool> done)
    {
        var pending = _actors;
        while (true)
        {
            pending = pending.Where(a => !Ask(a, () => done(a), unreachable: true)).ToList();
            if (pending.Count == 0 || Stopwatch.GetTimestamp() >= _deadline)
                return pending;
            Thread.Sleep(PollIntervalMs);
        }
    }

    // Runs a query on the actor's shard; a shard that cannot answer (stopped: ECANCELED, or another
    // shard's thread is asking: EDEADLK) gives <paramref name="unreachable"/>.
    private static bool Ask(QueueActor actor, Func<bool> query, bool unreachable)
    {
        bool answer = false;
        int err = actor.Shard.Invoke(() => { answer = query(); return 0; });
        return err == 0 ? answer : unreachable;
    }
}
