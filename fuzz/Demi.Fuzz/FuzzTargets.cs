namespace Demi.Fuzz;

/// <summary>A fuzz target: throws (a <see cref="FuzzInvariantException"/> or the bug's own exception) when an input breaks the code.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>Thrown when an input breaks an invariant (an internal error, a leaked buffer, an accepted header with impossible fields).</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);

/// <summary>The harnesses by name (the corpus folders under fuzz/corpus have the same names).</summary>
public static class FuzzTargets
{
    private static readonly Dictionary<string, Func<FuzzTarget>> Factories = new()
    {
        ["ethernet"] = () => new FrameHarness(FrameHarness.Layer.Ethernet).Run,
        ["arp"] = () => new FrameHarness(FrameHarness.Layer.Arp).Run,
        ["ipv4"] = () => new FrameHarness(FrameHarness.Layer.Ipv4).Run,
        ["icmp"] = () => new FrameHarness(FrameHarness.Layer.Icmp).Run,
        ["udp"] = () => new FrameHarness(FrameHarness.Layer.Udp).Run,
        ["tcp"] = () => new FrameHarness(FrameHarness.Layer.Tcp).Run,
        ["tcp-state"] = () => TcpStateHarness.Run,
        ["config"] = () => ConfigHarness.Run,
    };

    /// <summary>Every target's name.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>Creates the target called <paramref name="name"/> (frame targets keep one stack for every input they get).</summary>
    public static bool TryGet(string name, out FuzzTarget target)
    {
        if (Factories.TryGetValue(name, out var factory))
        {
            target = factory();
            return true;
        }
        target = null!;
        return false;
    }
}
