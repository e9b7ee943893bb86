using System.Diagnostics;
using Demi.Cli.CommandLine;

namespace Demi.Cli.Echo;

/// <summary>Reports progress every second while a run is going (see <see cref="StatusLine"/>).</summary>
internal sealed class Progress : IDisposable
{
    private readonly Timer? _timer;
    private readonly StatusLine _line;
    private readonly Func<long> _messages;
    private readonly string _label;
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _lastMessages;
    private long _lastTimestamp;

    public Progress(string label, Func<long> messages, bool quiet)
    {
        _label = label;
        _messages = messages;
        _lastTimestamp = _started;
        _line = StatusLine.StandardError();
        if (!quiet)
            _timer = new Timer(_ => Tick(), null, 1000, 1000);
    }

    private void Tick()
    {
        long now = Stopwatch.GetTimestamp(), messages = _messages();
        double interval = (now - _lastTimestamp) / (double)Stopwatch.Frequency;
        double rate = interval > 0 ? (messages - _lastMessages) / interval : 0;
        double elapsed = (now - _started) / (double)Stopwatch.Frequency;
        _line.Update($"[{_label}] {elapsed,5:F1}s  {messages,12:N0} msgs  {rate,12:N0} msg/s");
        _lastMessages = messages;
        _lastTimestamp = now;
    }

    public void Dispose()
    {
        if (_timer is null)
            return;
        using var ticksDone = new ManualResetEvent(false);
        if (_timer.Dispose(ticksDone))
            ticksDone.WaitOne(); // no tick may draw after the line is cleared
        _line.Clear();
    }
}
