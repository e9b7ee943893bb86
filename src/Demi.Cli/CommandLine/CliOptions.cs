using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Demi.Runtime;

namespace Demi.Cli.CommandLine;

/// <summary>
/// Typed options with validation. Every parser reports a bad value as one line that starts with
/// the option's name (<c>--size: ...</c>), so that the user sees which option to fix.
/// </summary>
internal static class CliOptions
{
    /// <summary>CPUs the affinity mask covers (sched_getaffinity with 1024 bits).</summary>
    private const int MaxCpus = 1024;

    /// <summary>An integer option in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
        => new(name)
        {
            Description = description,
            HelpName = "N",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => ParseInt(result, min, max) ?? defaultValue,
        };

    /// <summary>An optional integer option (null when absent) in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int?> OptionalInt(string name, string description, int min = int.MinValue, int max = int.MaxValue)
        => new(name)
        {
            Description = description,
            HelpName = "N",
            CustomParser = result => ParseInt(result, min, max),
        };

    /// <summary>A 64-bit integer option of at least <paramref name="min"/> (byte counts).</summary>
    public static Option<long> Long(string name, string description, long defaultValue, long min = 0)
        => new(name)
        {
            Description = description,
            HelpName = "N",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = Single(result);
                if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min)
                    return value;
                result.AddError($"{OptionName(result)} '{text}': expected an integer of at least {min}");
                return defaultValue;
            },
        };

    private static int? ParseInt(ArgumentResult result, int min, int max)
    {
        var text = Single(result);
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            return value;
        result.AddError($"{OptionName(result)} '{text}': expected an integer {Range(min, max)}");
        return null;
    }

    private static string Range(int min, int max) => (min, max) switch
    {
        (int.MinValue, int.MaxValue) => "",
        (_, int.MaxValue) => $"of at least {min}",
        _ => $"from {min} to {max}",
    };

    /// <summary>A duration option: "10s", "500ms", "2m", plain seconds, or "00:00:05" (the form help prints defaults in); never negative.</summary>
    public static Option<TimeSpan> Duration(string name, string description, TimeSpan defaultValue)
        => new(name)
        {
            Description = description,
            HelpName = "TIME",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = Single(result);
                if (TryParseDuration(text, out var value) && value >= TimeSpan.Zero)
                    return value;
                result.AddError($"{OptionName(result)} '{text}': expected a duration like 10s, 500ms, 2m or 00:00:10");
                return defaultValue;
            },
        };

    /// <summary>Parses "10s", "500ms", "2m", plain seconds or [d.]hh:mm:ss[.fff] (as help shows a TimeSpan default).</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        double number;
        if (text.EndsWith("ms", StringComparison.Ordinal) && TryNumber(text[..^2], out number))
            value = TimeSpan.FromMilliseconds(number);
        else if (text.EndsWith('s') && TryNumber(text[..^1], out number))
            value = TimeSpan.FromSeconds(number);
        else if (text.EndsWith('m') && TryNumber(text[..^1], out number))
            value = TimeSpan.FromMinutes(number);
        else if (TryNumber(text, out number))
            value = TimeSpan.FromSeconds(number);
        else if (text.Contains(':') && TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var clock))
            value = clock;
        else
            return false;
        return true;
    }

    private static bool TryNumber(string text, out double number)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);

    /// <summary>An IPv4 endpoint option ("a.b.c.d:port"); host names are not resolved.</summary>
    public static Option<Ipv4Endpoint> Endpoint(string name, string description, Ipv4Endpoint defaultValue)
        => new(name)
        {
            Description = description,
            HelpName = "A.B.C.D:PORT",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = Single(result);
                if (TryParseEndpoint(text, out var endpoint, out var problem))
                    return endpoint;
                result.AddError($"{OptionName(result)} '{text}': {problem}");
                return defaultValue;
            },
        };

    /// <summary>Parses "a.b.c.d:port" and says what is wrong otherwise.</summary>
    public static bool TryParseEndpoint(string text, out Ipv4Endpoint endpoint, out string problem)
    {
        endpoint = default;
        int colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            problem = "expected an IPv4 address and a port like 127.0.0.1:7777 (the port is missing)";
            return false;
        }
        if (!Ipv4Address.TryParse(text.AsSpan(0, colon), out var address))
        {
            problem = "expected an IPv4 address like 127.0.0.1 before the port (host names are not resolved)";
            return false;
        }
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > ushort.MaxValue)
        {
            problem = "expected a port from 0 to 65535 after the address";
            return false;
        }
        endpoint = new Ipv4Endpoint(address, (ushort)port);
        problem = "";
        return true;
    }

    /// <summary>An optional IPv4 address option.</summary>
    public static Option<Ipv4Address?> Address(string name, string description)
        => new(name)
        {
            Description = description,
            HelpName = "A.B.C.D",
            CustomParser = result =>
            {
                var text = Single(result);
                if (Ipv4Address.TryParse(text, out var address))
                    return address;
                result.AddError($"{OptionName(result)} '{text}': expected an IPv4 address like 10.0.0.1 (four numbers 0-255)");
                return null;
            },
        };

    /// <summary>An option that takes one of <paramref name="choices"/> (offered as completions).</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = Single(result);
                if (choices.Contains(text, StringComparer.Ordinal))
                    return text;
                result.AddError($"{OptionName(result)} '{text}': expected {OneOf(choices)}");
                return defaultValue;
            },
        };
        option.CompletionSources.Add(choices);
        return option;
    }

    /// <summary>"a, b or c".</summary>
    public static string OneOf(IReadOnlyList<string> choices)
        => choices.Count == 1 ? choices[0] : string.Join(", ", choices.Take(choices.Count - 1)) + " or " + choices[^1];

    /// <summary>A CPU list ("1", "0-1", "0,2-3") checked against the cores this process may use; null when absent.</summary>
    public static Option<int[]?> Cores(string name, string description)
        => new(name)
        {
            Description = description,
            HelpName = "LIST",
            CustomParser = result =>
            {
                var text = Single(result);
                if (TryParseCores(text, out var cores, out var problem))
                    return cores;
                result.AddError($"{OptionName(result)} '{text}': {problem}");
                return null;
            },
        };

    /// <summary>Parses a CPU list and checks each core is one this process may run on.</summary>
    public static bool TryParseCores(string text, out int[] cores, out string problem)
    {
        cores = [];
        var set = new SortedSet<int>();
        foreach (var rawPart in text.Split(','))
        {
            var part = rawPart.Trim();
            int dash = part.IndexOf('-');
            var (firstText, lastText) = dash < 0 ? (part, part) : (part[..dash], part[(dash + 1)..]);
            if (!int.TryParse(firstText, NumberStyles.None, CultureInfo.InvariantCulture, out int first)
                || !int.TryParse(lastText, NumberStyles.None, CultureInfo.InvariantCulture, out int last) || last < first)
            {
                problem = "expected a CPU list like 1, 0-1 or 0,2-3";
                return false;
            }
            if (last >= MaxCpus)
            {
                problem = $"core {last} does not exist (available: {CpuSet.Format(CpuSet.AllowedCores())})";
                return false;
            }
            for (int core = first; core <= last; core++)
                set.Add(core);
        }
        var allowed = CpuSet.AllowedCores();
        foreach (var core in set)
        {
            if (!allowed.Contains(core))
            {
                problem = $"core {core} does not exist or is not available to this process (available: {CpuSet.Format(allowed)})";
                return false;
            }
        }
        cores = [.. set];
        problem = "";
        return true;
    }

    /// <summary>An optional free-text option (a file, an interface, a namespace name).</summary>
    public static Option<string?> Text(string name, string description, string helpName)
        => new(name) { Description = description, HelpName = helpName };

    /// <summary>A flag (no value).</summary>
    public static Option<bool> Flag(string name, string description)
        => new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>The value of <paramref name="option"/> for a command validator; false when the option itself failed to parse (its error is reported already).</summary>
    public static bool TryGetValue<T>(CommandResult result, Option<T> option, out T? value)
    {
        try
        {
            value = result.GetValue(option);
            return true;
        }
        catch (InvalidOperationException)
        {
            // System.CommandLine throws for a value whose parser reported an error.
            value = default;
            return false;
        }
    }

    private static string Single(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[0].Value : "";

    private static string OptionName(ArgumentResult result)
        => result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
}
