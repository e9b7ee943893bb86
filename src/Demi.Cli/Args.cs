using System.Globalization;

namespace Demi.Cli;

/// <summary>Minimal "--name value" / "--flag" parsing with clear errors for the demi command.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Args(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var arg = list[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                throw new UsageException($"unexpected argument '{arg}'");
            var name = arg[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = list[++i];
            }
            _values[name] = value;
        }
    }

    public string String(string name, string fallback)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) && v is not null ? v : fallback;
    }

    public string? OptionalString(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : null;
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        return _values.ContainsKey(name);
    }

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = OptionalString(name);
        if (text is null)
            return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new UsageException($"--{name} must be an integer between {min} and {max}, got '{text}'");
        return value;
    }

    /// <summary>Durations like "10s", "500ms", "2m" or plain seconds.</summary>
    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        var text = OptionalString(name);
        if (text is null)
            return fallback;
        double number;
        if (text.EndsWith("ms", StringComparison.Ordinal) && double.TryParse(text[..^2], CultureInfo.InvariantCulture, out number))
            return TimeSpan.FromMilliseconds(number);
        if (text.EndsWith('s') && double.TryParse(text[..^1], CultureInfo.InvariantCulture, out number))
            return TimeSpan.FromSeconds(number);
        if (text.EndsWith('m') && double.TryParse(text[..^1], CultureInfo.InvariantCulture, out number))
            return TimeSpan.FromMinutes(number);
        if (double.TryParse(text, CultureInfo.InvariantCulture, out number))
            return TimeSpan.FromSeconds(number);
        throw new UsageException($"--{name} must be a duration like 10s or 500ms, got '{text}'");
    }

    /// <summary>Fails on options nobody asked for (typos should not be silently ignored).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
