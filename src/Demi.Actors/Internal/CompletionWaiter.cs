using System.Diagnostics;
using Demi.Runtime;

namespace Demi.Internal;

/// <summary>
/// The waiting side: redeems tokens for app threads (<c>Wait</c>, <c>WaitAny</c>, <c>WaitNextN</c>),
/// idling by the libOS's wait strategy (spin, yield, then park on the completion signal).
/// </summary>
internal sealed class CompletionWaiter
{
    // A parked waiter rechecks at least this often (a missed wake-up costs at most this much).
    private const int MaxParkMs = 1000;

    private readonly TokenTable _tokens;
    private readonly CompletionSignal _signal;
    private readonly IdleStrategy _idle;

    public CompletionWaiter(TokenTable tokens, CompletionSignal signal, IdleStrategy idle)
    {
        _tokens = tokens;
        _signal = signal;
        _idle = idle;
    }

    public int Wait(out QResult result, ulong qt, TimeSpan? timeout)
    {
        long deadline = Deadline(timeout);
        var backoff = new IdleBackoff(_idle);
        while (true)
        {
            int seen = _signal.Version;
            int err = _tokens.TryConsume(qt, out result);
            if (err != Errno.EAGAIN)
                return err;
            if (!Idle(ref backoff, seen, deadline))
                return Errno.ETIMEDOUT;
        }
    }

    public int WaitAny(out QResult result, out int readyOffset, ReadOnlySpan<ulong> qts, TimeSpan? timeout)
    {
        result = default;
        readyOffset = -1;
        if (qts.IsEmpty)
            return Errno.EINVAL;
        long deadline = Deadline(timeout);
        var backoff = new IdleBackoff(_idle);
        while (true)
        {
            int seen = _signal.Version;
            for (int i = 0; i < qts.Length; i++)
            {
                int err = _tokens.TryConsume(qts[i], out result);
                if (err == 0)
                {
                    readyOffset = i;
                    return 0;
                }
                if (err != Errno.EAGAIN)
                    return err;
            }
            if (!Idle(ref backoff, seen, deadline))
                return Errno.ETIMEDOUT;
        }
    }

    public int WaitNextN(Span<QResult> results, out int count, TimeSpan? timeout)
    {
        count = 0;
        if (results.IsEmpty)
            return Errno.EINVAL;
        long deadline = Deadline(timeout);
        var backoff = new IdleBackoff(_idle);
        while (true)
        {
            int seen = _signal.Version;
            while (count < results.Length && _tokens.TryConsumeNext(out results[count]))
                count++;
            if (count > 0)
                return 0;
            if (!Idle(ref backoff, seen, deadline))
                return Errno.ETIMEDOUT;
        }
    }

    private static long Deadline(TimeSpan? timeout)
        => timeout is null ? long.MaxValue
            : timeout.Value <= TimeSpan.Zero ? 0
            : Stopwatch.GetTimestamp() + (long)(timeout.Value.TotalSeconds * Stopwatch.Frequency);

    // One idle round; false once the deadline has passed (a zero timeout polls once).
    private bool Idle(ref IdleBackoff backoff, int seen, long deadline)
    {
        if (deadline == 0)
            return false;
        long now = Stopwatch.GetTimestamp();
        if (now >= deadline)
            return false;
        switch (backoff.Next())
        {
            case IdleStep.Spin:
                Thread.SpinWait(IdleBackoff.SpinPerRound);
                break;
            case IdleStep.Yield:
                Thread.Yield();
                break;
            default:
                int timeoutMs = deadline == long.MaxValue
                    ? MaxParkMs
                    : (int)Math.Clamp((deadline - now) * 1000 / Stopwatch.Frequency + 1, 1, MaxParkMs);
                _signal.WaitForChange(seen, timeoutMs);
                break;
        }
        return true;
    }
}
