namespace Demi.Inet.Internal;

/// <summary>
/// Makes the stack's caught bugs loud without flooding: the first <see cref="Burst"/> exceptions of a
/// stack are logged in full, then at most one a second, each saying how many were suppressed since the
/// last. Runs on the shard thread only (the path is the error path: allocation is fine here).
/// </summary>
internal sealed class InternalErrorLog
{
    private const int Burst = 5;
    private const long IntervalMicroseconds = 1_000_000;

    private readonly string _stack;
    private readonly Action<string> _sink;
    private int _logged;
    private long _lastLoggedAt = long.MinValue;
    private long _suppressed;

    public InternalErrorLog(Ipv4Address local, Action<string>? sink)
    {
        _stack = local.ToString();
        _sink = sink ?? (line => Console.Error.WriteLine(line));
    }

    public void Report(Exception exception, bool frameReleased, long now)
    {
        if (_logged >= Burst && now - _lastLoggedAt < IntervalMicroseconds)
        {
            _suppressed++;
            return;
        }
        _logged++;
        _lastLoggedAt = now;
        string suppressed = _suppressed > 0 ? $" ({_suppressed} more suppressed since the last report)" : "";
        _suppressed = 0;
        string frame = frameReleased ? "the frame was released" : "the frame was its handler's";
        try
        {
            _sink($"Demi.Inet {_stack}: internal error while processing a frame (dropped, {frame}){suppressed}: {exception}");
        }
        catch (Exception)
        {
            // A failing log sink must not turn a counted drop into a dead shard.
        }
    }
}
