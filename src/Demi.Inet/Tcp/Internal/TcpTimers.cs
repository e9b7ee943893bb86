using System.Diagnostics;

namespace Demi.Inet.Tcp.Internal;

/// <summary>The timers of one connection, in the order <see cref="TcpTimers.Fire"/> runs them.</summary>
internal enum TcpTimer
{
    /// <summary>SO_LINGER: a close that has not finished in time aborts.</summary>
    Linger,
    /// <summary>TIME_WAIT (2·MSL) and the FIN_WAIT_2 timeout of orphaned connections.</summary>
    Close,
    /// <summary>Retransmission (RFC 6298), SYN retries, and the persist timer (zero-window probes).</summary>
    Retransmit,
    /// <summary>Delayed ACK (RFC 5681 §4.2).</summary>
    DelayedAck,
    /// <summary>Keepalive probes (RFC 9293 §3.8.4).</summary>
    KeepAlive,
}

/// <summary>What happens when a timer of <see cref="TcpTimers"/> expires (implemented by the connection).</summary>
internal interface ITcpTimerHandler
{
    /// <summary>The linger time ran out; true when that ended the connection (no later timer runs).</summary>
    bool OnLingerTimeout(long now);

    /// <summary>TIME_WAIT or FIN_WAIT_2 ended; true when that ended the connection.</summary>
    bool OnCloseTimeout(long now);

    /// <summary>Retransmission or persist timeout; true when that ended the connection.</summary>
    bool OnRetransmitTimeout(long now);

    /// <summary>A delayed ACK is due.</summary>
    void OnDelayedAckTimeout(long now);

    /// <summary>Keepalive is due. Unlike the others this timer stays armed: the handler re-arms or stops it.</summary>
    void OnKeepAliveTimeout(long now);
}

/// <summary>
/// One deadline per <see cref="TcpTimer"/> (microseconds, <see cref="long.MaxValue"/> when stopped).
/// The layer keeps one heap entry per connection for <see cref="Next"/>; <see cref="Fire"/> runs the
/// expired ones in a fixed order and stops at the first that ends the connection.
/// </summary>
internal sealed class TcpTimers
{
    /// <summary>The value of a stopped timer.</summary>
    public const long Stopped = long.MaxValue;

    private const int TimerCount = (int)TcpTimer.KeepAlive + 1;

    private readonly long[] _deadlines = [Stopped, Stopped, Stopped, Stopped, Stopped];

    /// <summary>The earliest armed deadline, or <see cref="Stopped"/>.</summary>
    public long Next
    {
        get
        {
            var d = _deadlines;
            return Math.Min(Math.Min(d[(int)TcpTimer.Retransmit], d[(int)TcpTimer.DelayedAck]),
                Math.Min(Math.Min(d[(int)TcpTimer.KeepAlive], d[(int)TcpTimer.Close]), d[(int)TcpTimer.Linger]));
        }
    }

    /// <summary>The deadline of <paramref name="timer"/>, or <see cref="Stopped"/>.</summary>
    public long DeadlineOf(TcpTimer timer) => _deadlines[(int)timer];

    /// <summary>Whether <paramref name="timer"/> has a deadline.</summary>
    public bool IsArmed(TcpTimer timer) => _deadlines[(int)timer] != Stopped;

    /// <summary>Sets (or moves) the deadline of <paramref name="timer"/>.</summary>
    public void Arm(TcpTimer timer, long deadline)
    {
        Debug.Assert(deadline >= 0);
        _deadlines[(int)timer] = deadline;
    }

    /// <summary>Stops <paramref name="timer"/>.</summary>
    public void Stop(TcpTimer timer) => _deadlines[(int)timer] = Stopped;

    /// <summary>Stops every timer (the connection ended).</summary>
    public void StopAll() => Array.Fill(_deadlines, Stopped);

    /// <summary>Stops every timer except <see cref="TcpTimer.Close"/> (entering TIME_WAIT arms it next).</summary>
    public void StopAllButClose()
    {
        for (int i = 0; i < TimerCount; i++)
        {
            if (i != (int)TcpTimer.Close)
                _deadlines[i] = Stopped;
        }
    }

    /// <summary>
    /// Runs the timers due at <paramref name="now"/>: linger, close, retransmit, delayed ACK, keepalive.
    /// Each expired timer is stopped before its handler runs (which may arm it again), and a handler
    /// that ends the connection ends the round.
    /// </summary>
    public void Fire(long now, ITcpTimerHandler handler)
    {
        if (Expire(TcpTimer.Linger, now) && handler.OnLingerTimeout(now))
            return;
        if (Expire(TcpTimer.Close, now) && handler.OnCloseTimeout(now))
            return;
        if (Expire(TcpTimer.Retransmit, now) && handler.OnRetransmitTimeout(now))
            return;
        if (Expire(TcpTimer.DelayedAck, now))
            handler.OnDelayedAckTimeout(now);
        if (now >= _deadlines[(int)TcpTimer.KeepAlive])
            handler.OnKeepAliveTimeout(now);
    }

    private bool Expire(TcpTimer timer, long now)
    {
        if (now < _deadlines[(int)timer])
            return false;
        _deadlines[(int)timer] = Stopped;
        return true;
    }
}
