using System.Diagnostics;

namespace Demi.Cli.Echo;

/// <summary>Prints a one-line progress report every second while a run is going.</summary>
internal sealed class Progress : IDisposable
{
    private readonly Timer? _timer;
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
        if (!quiet)
            _timer = new Timer(_ => Tick(), null, 1000, 1000);
    }

    private void Tick()
    {
        long now = Stopwatch.GetTimestamp(), messages = _messages();
        double interval = (now - _lastTimestamp) / (double)Stopwatch.Frequency;
        double rate = interval > 0 ? (messages - _lastMessages) / interval : 0;
        double elapsed = (now - _started) / (double)Stopwatch.Frequency;
        Console.Error.Write($"\r[{_label}] {elapsed,5:F1}s  {messages,12:N0} msgs  {rate,12:N0} msg/s   ");
        _lastMessages = messages;
        _lastTimestamp = now;
    }

    public void Dispose()
    {
        if (_timer is null)
            return;
        _timer.Dispose();
        Console.Error.Write("\r" + new string(' ', 80) + "\r");
    }
}
