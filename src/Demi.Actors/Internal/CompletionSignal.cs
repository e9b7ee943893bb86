namespace Demi.Internal;

/// <summary>
/// Wakes threads parked in Wait/WaitAny/WaitNextN when any completion lands. A version counter
/// closes the race between "checked, nothing yet" and "went to sleep"; completers only take the
/// lock when somebody is actually parked.
/// </summary>
internal sealed class CompletionSignal
{
    private readonly object _gate = new();
    private int _version;
    private int _waiters;

    public int Version => Volatile.Read(ref _version);

    public void Notify()
    {
        Interlocked.Increment(ref _version);
        if (Volatile.Read(ref _waiters) > 0)
        {
            lock (_gate)
                Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Parks until the version moves past <paramref name="seen"/> or the timeout passes.</summary>
    public void WaitForChange(int seen, int timeoutMs)
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _waiters);
            try
            {
                if (Volatile.Read(ref _version) == seen)
                    Monitor.Wait(_gate, timeoutMs);
            }
            finally
            {
                Interlocked.Decrement(ref _waiters);
            }
        }
    }
}
