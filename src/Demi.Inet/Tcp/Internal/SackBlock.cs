using System.Runtime.CompilerServices;

namespace Demi.Inet.Tcp.Internal;

/// <summary>One SACK block [Start, End) (RFC 2018).</summary>
internal struct SackBlock
{
    public uint Start;
    public uint End;

    public SackBlock(uint start, uint end)
    {
        Start = start;
        End = end;
    }
}

/// <summary>Up to four SACK blocks held inline so that parsing a segment allocates nothing.</summary>
[InlineArray(4)]
internal struct SackBlocks
{
    private SackBlock _element;
}
