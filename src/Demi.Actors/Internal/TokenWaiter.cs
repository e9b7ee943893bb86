namespace Demi.Internal;

/// <summary>
/// One app thread parked in <c>Wait</c>, <c>WaitAny</c> or <c>WaitNextN</c>. It registers itself on the
/// token slots it waits for (or, for <c>WaitNextN</c>, with the table), so a completion wakes only the
/// threads waiting for that token: completers write nothing shared unless somebody waits.
/// </summary>
internal sealed class TokenWaiter
{
    [ThreadStatic]
    private static TokenWaiter? t_current;

    // No spinning inside the event: the caller already spun and yielded by its idle strategy.
    private readonly ManualResetEventSlim _event = new(false, spinCount: 0);

    /// <summary>The calling thread's waiter (one per thread, reused).</summary>
    public static TokenWaiter ForCurrentThread => t_current ??= new TokenWaiter();

    /// <summary>Clears an earlier wake-up; call before registering and rechecking.</summary>
    public void Arm() => _event.Reset();

    /// <summary>Parks until <see cref="Wake"/> or the timeout.</summary>
    public void Park(int timeoutMs) => _event.Wait(timeoutMs);

    private long _wakes;

    /// <summary>Wake-ups received (diagnostics: a completion wakes only the waiters of its token).</summary>
    public long Wakes => Interlocked.Read(ref _wakes);

    /// <summary>Called by a completer (any thread).</summary>
    public void Wake()
    {
        Interlocked.Increment(ref _wakes); // this waiter's own line, not a shared one
        _event.Set();
    }
}
