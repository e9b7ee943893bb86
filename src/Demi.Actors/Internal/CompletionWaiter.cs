using System.Diagnostics;
using Demi.Runtime;

namespace Demi.Internal;

/// <summary>
/// The waiting side: redeems tokens for app threads (<c>Wait</c>, <c>WaitAny</c>, <c>WaitNextN</c>),
/// idling by the libOS's wait strategy (spin, yield, then park). A parked thread registers on the
/// slots of the tokens it waits for, so it is woken by their completion and by no other. On a shard
/// thread (inside a completion handler) a wait that would block is EDEADLK, as the shard's other
/// blocking calls are; a zero-timeout poll is still served there.
/// </summary>
internal sealed class CompletionWaiter
{
    // A parked waiter rechecks at least this often (a missed wake-up costs at most this much).
    private const int MaxParkMs = 1000;

    private readonly TokenTable _tokens;
    private readonly IdleStrategy _idle;

    public CompletionWaiter(TokenTable tokens, IdleStrategy idle)
    {
        _tokens = tokens;
        _idle = idle;
    }

    public int Wait(out QResult result, ulong qt, TimeSpan? timeout)
    {
        result = default;
        if (!IsValidTimeout(timeout))
            return Errno.EINVAL;
        long deadline = Deadline(timeout);
        var backoff = new IdleBackoff(_idle);
        while (true)
        {
            int err = _tokens.TryConsume(qt, out result);
            if (err != Errno.EAGAIN)
                return err;
            switch (Idle(ref backoff, deadline, out int parkMs))
            {
                case IdleOutcome.TimedOut:
                    return Errno.ETIMEDOUT;
                case IdleOutcome.WouldDeadlock:
                    return Errno.EDEADLK;
                case IdleOutcome.Park:
                    var waiter = TokenWaiter.ForCurrentThread;
                    waiter.Arm();
                    _tokens.Watch(qt, waiter);
                    err = _tokens.TryConsume(qt, out result); // a completion before Watch did not see us
                    if (err == Errno.EAGAIN)
                        waiter.Park(parkMs);
                    _tokens.Unwatch(qt, waiter);
                    if (err != Errno.EAGAIN)
                        return err;
                    break;
            }
        }
    }

    public int WaitAny(out QResult result, out int readyOffset, ReadOnlySpan<ulong> qts, TimeSpan? timeout)
    {
        result = default;
        readyOffset = -1;
        if (qts.IsEmpty || !IsValidTimeout(timeout))
            return Errno.EINVAL;
        // demi_wait_any(3): a list holding an invalid token is EINVAL, whichever token is ready first.
        foreach (var qt in qts)
            if (!_tokens.IsWaitable(qt))
                return Errno.EINVAL;
        long deadline = Deadline(timeout);
        var backoff = new IdleBackoff(_idle);
        while (true)
        {
            int err = TryConsumeAny(out result, out readyOffset, qts);
            if (err != Errno.EAGAIN)
                return err;
            switch (Idle(ref backoff, deadline, out int parkMs))
            {
                case IdleOutcome.TimedOut:
                    return Errno.ETIMEDOUT;
                case IdleOutcome.WouldDeadlock:
                    return Errno.EDEADLK;
                case IdleOutcome.Park:
                    var waiter = TokenWaiter.ForCurrentThread;
                    waiter.Arm();
                    foreach (var qt in qts)
                        _tokens.Watch(qt, waiter);
                    err = TryConsumeAny(out result, out readyOffset, qts);
                    if (err == Errno.EAGAIN)
                        waiter.Park(parkMs);
                    foreach (var qt in qts)
                        _tokens.Unwatch(qt, waiter);
                    if (err != Errno.EAGAIN)
                        return err;
                    break;
            }
        }
    }

    private int TryConsumeAny(out QResult result, out int readyOffset, ReadOnlySpan<ulong> qts)
    {
        for (int i = 0; i < qts.Length; i++)
        {
            int err = _tokens.TryConsume(qts[i], out result);
            if (err == 0)
            {
                readyOffset = i;
                return 0;
            }
            if (err != Errno.EAGAIN)
            {
                readyOffset = -1;
                return err;
            }
        }
        result = default;
        readyOffset = -1;
        return Errno.EAGAIN;
    }

    public int WaitNextN(Span<QResult> results, out int count, TimeSpan? timeout)
    {
        count = 0;
        if (results.IsEmpty || !IsValidTimeout(timeout))
            return Errno.EINVAL;
        long deadline = Deadline(timeout);
        var backoff = new IdleBackoff(_idle);
        while (true)
        {
            while (count < results.Length && _tokens.TryConsumeNext(out results[count]))
                count++;
            if (count > 0)
                return 0;
            switch (Idle(ref backoff, deadline, out int parkMs))
            {
                case IdleOutcome.TimedOut:
                    return Errno.ETIMEDOUT;
                case IdleOutcome.WouldDeadlock:
                    return Errno.EDEADLK;
                case IdleOutcome.Park:
                    var waiter = TokenWaiter.ForCurrentThread;
                    waiter.Arm();
                    _tokens.WatchAny(waiter);
                    while (count < results.Length && _tokens.TryConsumeNext(out results[count]))
                        count++;
                    if (count == 0)
                        waiter.Park(parkMs);
                    _tokens.UnwatchAny(waiter);
                    if (count > 0)
                        return 0;
                    break;
            }
        }
    }

    private enum IdleOutcome : byte
    {
        Retry,
        Park,
        TimedOut,
        WouldDeadlock,
    }

    // demi_wait(3): a timeout that is no valid value is EINVAL. Negative means nothing here except
    // Timeout.InfiniteTimeSpan, .NET's "forever".
    private static bool IsValidTimeout(TimeSpan? timeout)
        => timeout is not { } t || t >= TimeSpan.Zero || t == Timeout.InfiniteTimeSpan;

    private static long Deadline(TimeSpan? timeout)
        => timeout is null || timeout == Timeout.InfiniteTimeSpan ? long.MaxValue
            : timeout.Value <= TimeSpan.Zero ? 0
            : Stopwatch.GetTimestamp() + (long)(timeout.Value.TotalSeconds * Stopwatch.Frequency);

    // One idle round: spin or yield here (Retry), or tell the caller to park for parkMs; a zero timeout polls once.
    private static IdleOutcome Idle(ref IdleBackoff backoff, long deadline, out int parkMs)
    {
        parkMs = 0;
        if (deadline == 0)
            return IdleOutcome.TimedOut;
        if (Shard.Current is not null)
            return IdleOutcome.WouldDeadlock; // a shard thread waiting would stop the completions it waits for
        long now = Stopwatch.GetTimestamp();
        if (now >= deadline)
            return IdleOutcome.TimedOut;
        switch (backoff.Next())
        {
            case IdleStep.Spin:
                Thread.SpinWait(IdleBackoff.SpinPerRound);
                return IdleOutcome.Retry;
            case IdleStep.Yield:
                Thread.Yield();
                return IdleOutcome.Retry;
            default:
                parkMs = deadline == long.MaxValue
                    ? MaxParkMs
                    : (int)Math.Clamp((deadline - now) * 1000 / Stopwatch.Frequency + 1, 1, MaxParkMs);
                return IdleOutcome.Park;
        }
    }
}
