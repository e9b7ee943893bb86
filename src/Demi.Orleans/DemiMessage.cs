namespace Demi.Orleans;

/// <summary>A datagram or a chunk of stream bytes as an Orleans stream item (copied out of the libOS buffer).</summary>
[GenerateSerializer, Immutable]
public sealed record DemiMessage(
    [property: Id(0)] byte[] Data,
    [property: Id(1)] string From,
    [property: Id(2)] long Sequence);
