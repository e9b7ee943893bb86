namespace Demi.Cli.CommandLine;

/// <summary>
/// A progress line: on a terminal it redraws in place (carriage return); when the stream is
/// redirected (a pipe, a file, CI logs) it writes one line per update instead, so that the
/// output stays readable there.
/// </summary>
internal sealed class StatusLine
{
    private readonly TextWriter _writer;
    private readonly bool _inPlace;
    private int _lastLength;

    public StatusLine(TextWriter writer, bool inPlace)
    {
        _writer = writer;
        _inPlace = inPlace;
    }

    /// <summary>Standard error, redrawn in place only when it is a terminal.</summary>
    public static StatusLine StandardError() => new(Console.Error, inPlace: !Console.IsErrorRedirected);

    public void Update(string text)
    {
        lock (_writer)
        {
            if (!_inPlace)
            {
                _writer.WriteLine(text);
                return;
            }
            _writer.Write("\r" + text.PadRight(_lastLength));
            _lastLength = text.Length;
        }
    }

    /// <summary>Removes the line (terminal) so that what follows starts clean; nothing when redirected.</summary>
    public void Clear()
    {
        lock (_writer)
        {
            if (_inPlace && _lastLength > 0)
                _writer.Write("\r" + new string(' ', _lastLength) + "\r");
            _lastLength = 0;
        }
    }
}
