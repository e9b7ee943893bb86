using System.Diagnostics;

namespace Demi.Perf.Internal;

/// <summary>The one-line progress display on stderr (a plain line per step when stderr is not a terminal).</summary>
internal sealed class Progress(int total)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _done;

    public void Step(string what)
    {
        _done++;
        string line = $"[{_done,2}/{total}] {_clock.Elapsed.TotalSeconds,5:F1}s {what}";
        if (Console.IsErrorRedirected)
            Console.Error.WriteLine(line);
        else
            Console.Error.Write("\r" + line.PadRight(Math.Max(Console.WindowWidth - 1, 20))[..Math.Max(Console.WindowWidth - 1, 20)]);
    }

    public void Done()
    {
        if (!Console.IsErrorRedirected)
            Console.Error.WriteLine();
        Console.Error.WriteLine($"done in {_clock.Elapsed.TotalSeconds:F1} s");
    }
}
