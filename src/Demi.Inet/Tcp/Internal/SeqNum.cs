using System.Runtime.CompilerServices;

namespace Demi.Inet.Tcp.Internal;

/// <summary>Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): comparisons through the signed difference.</summary>
internal static class SeqNum
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Le(uint a, uint b) => (int)(a - b) <= 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Max(uint a, uint b) => Gt(a, b) ? a : b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Min(uint a, uint b) => Lt(a, b) ? a : b;

    /// <summary>True when <paramref name="s"/> lies in [start, start+length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InWindow(uint s, uint start, uint length) => s - start < length;
}
