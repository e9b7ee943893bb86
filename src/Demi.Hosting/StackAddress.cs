using Demi.Inet;

namespace Demi.Hosting;

/// <summary>
/// The Address and Gateway keys every user-space-stack backend has ("Demi:Xdp:Address",
/// "Demi:Dpdk:Gateway", ...): their validation and the stack options they become.
/// </summary>
internal static class StackAddress
{
    /// <summary>The default prefix length when Address has no "/N".</summary>
    private const int DefaultPrefixLength = 24;

    /// <summary>What is wrong with <paramref name="address"/> and <paramref name="gateway"/> under <paramref name="key"/>, one message each.</summary>
    public static IEnumerable<string> Validate(string key, string backend, string? address, string? gateway)
    {
        if (string.IsNullOrWhiteSpace(address))
            yield return $"{key}:Address is required for the {backend} backend (this stack's IPv4 address, e.g. 10.0.0.1/24).";
        else if (!TryParse(address, out _, out _))
            yield return $"{key}:Address '{address}' is not an IPv4 address with an optional /prefix (0-32).";
        if (gateway is { Length: > 0 } && !Ipv4Address.TryParse(gateway, out _))
            yield return $"{key}:Gateway '{gateway}' is not an IPv4 address.";
    }

    /// <summary>The stack's options from an address and gateway that <see cref="Validate"/> accepted.</summary>
    public static InetStackOptions ToStackOptions(string address, string? gateway)
    {
        TryParse(address, out var local, out int prefix);
        return new InetStackOptions
        {
            LocalAddress = local,
            PrefixLength = prefix,
            Gateway = gateway is { Length: > 0 } g ? Ipv4Address.Parse(g) : default,
        };
    }

    private static bool TryParse(string text, out Ipv4Address address, out int prefix)
    {
        prefix = DefaultPrefixLength;
        int slash = text.IndexOf('/');
        var ip = slash < 0 ? text : text[..slash];
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), out prefix) || prefix is < 0 or > 32))
        {
            address = default;
            return false;
        }
        return Ipv4Address.TryParse(ip, out address);
    }
}
