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
        var attempt = new OneToken(_tokens, qt);
        int err = WaitFor(ref attempt, Deadline(timeout));
        result = attempt.Result;
        return err;
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
        var attempt = new AnyToken(_tokens, qts);
        int err = WaitFor(ref attempt, Deadline(timeout));
        result = attempt.Result;
        readyOffset = attempt.ReadyOffset;
        return err;
    }

    public int WaitNextN(Span<QResult> results, out int count, TimeSpan? timeout)
    {
        count = 0;
        if (results.IsEmpty || !IsValidTimeout(timeout))
            return Errno.EINVAL;
        var attempt = new NextTokens(_tokens, results);
        int err = WaitFor(ref attempt, Deadline(timeout));
        count = attempt.Count;
        return err;
    }

    /// <summary>What one kind of wait tries each round, and the token slots a parked waiter watches.</summary>
    private interface IWaitAttempt
    {
        /// <summary>0 or an errno when the wait is over; EAGAIN to go on waiting.</summary>
        int TryComplete();

        void Watch(TokenWaiter waiter);

        void Unwatch(TokenWaiter waiter);
    }

    // The one wait loop: try, idle a round, and when idling says park, watch the tokens, try once more
    // (a completion before Watch did not see this waiter), park, unwatch.
    private int WaitFor<TAttempt>(ref TAttempt attempt, long deadline)
        where TAttempt : IWaitAttempt, allows ref struct
    {
        var backoff = new IdleBackoff(_idle);
        while (true)
        {
            int err = attempt.TryComplete();
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
                    attempt.Watch(waiter);
                    err = attempt.TryComplete();
                    if (err == Errno.EAGAIN)
                        waiter.Park(parkMs);
                    attempt.Unwatch(waiter);
                    if (err != Errno.EAGAIN)
                        return err;
                    break;
            }
        }
    }

    private ref struct OneToken(TokenTable tokens, ulong qt) : IWaitAttempt
    {
        public QResult Result;

        public int TryComplete() => tokens.TryConsume(qt, out Result);

        public readonly void Watch(TokenWaiter waiter) => tokens.Watch(qt, waiter);

        public readonly void Unwatch(TokenWaiter waiter) => tokens.Unwatch(qt, waiter);
    }

    private ref struct AnyToken(TokenTable tokens, ReadOnlySpan<ulong> qts) : IWaitAttempt
    {
        private readonly ReadOnlySpan<ulong> _qts = qts;
        public QResult Result;
        public int ReadyOffset = -1;

        // The first ready token in list order; a token that failed to redeem ends the wait with its errno.
        public int TryComplete()
        {
            for (int i = 0; i < _qts.Length; i++)
            {
                int err = tokens.TryConsume(_qts[i], out Result);
                if (err == Errno.EAGAIN)
                    continue;
                ReadyOffset = err == 0 ? i : -1;
                return err;
            }
            Result = default;
            return Errno.EAGAIN;
        }

        public readonly void Watch(TokenWaiter waiter)
        {
            foreach (var qt in _qts)
                tokens.Watch(qt, waiter);
        }

        public readonly void Unwatch(TokenWaiter waiter)
        {
            foreach (var qt in _qts)
                tokens.Unwatch(qt, waiter);
        }
    }

    private ref struct NextTokens(TokenTable tokens, Span<QResult> results) : IWaitAttempt
    {
        private readonly Span<QResult> _results = results;
        public int Count;

        // As many completed tokens as fit, in completion order; done once there is at least one.
        public int TryComplete()
        {
            while (Count < _results.Length && tokens.TryConsumeNext(out _results[Count]))
                Count++;
            return Count > 0 ? 0 : Errno.EAGAIN;
        }

        public readonly void Watch(TokenWaiter waiter) => tokens.WatchAny(waiter);

        public readonly void Unwatch(TokenWaiter waiter) => tokens.UnwatchAny(waiter);
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
