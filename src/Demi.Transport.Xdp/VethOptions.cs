namespace Demi.Transport.Xdp;

/// <summary>How <see cref="VethNamespaces.Create"/> builds its two namespaces and veth pair.</summary>
public sealed class VethOptions
{
    /// <summary>RX and TX queues on each veth end (veth picks the receiver's RX queue from the sender's TX queue).</summary>
    public int QueueCount { get; init; } = 1;

    /// <summary>IPv4 address of side A (without prefix).</summary>
    public string AddressA { get; init; } = "10.99.0.1";

    /// <summary>IPv4 address of side B (without prefix).</summary>
    public string AddressB { get; init; } = "10.99.0.2";

    /// <summary>Prefix length of both addresses.</summary>
    public int PrefixLength { get; init; } = 24;

    /// <summary>
    /// Whether the kernel of namespace A gets <see cref="AddressA"/> too. Off by default: side A is
    /// normally Demi's, and a kernel owning the same address would answer ARP and ports behind Demi's back.
    /// </summary>
    public bool KernelAddressOnA { get; init; }

    /// <summary>Whether the kernel of namespace B gets <see cref="AddressB"/> (on by default: it is the kernel peer).</summary>
    public bool KernelAddressOnB { get; init; } = true;

    /// <summary>
    /// Turns TX checksum offload off on B's veth (<c>ethtool -K B tx off</c>) so that the kernel peer
    /// sends complete UDP/TCP checksums instead of CHECKSUM_PARTIAL ones, which AF_XDP sees raw.
    /// </summary>
    public bool PeerTxChecksumOff { get; init; } = true;

    /// <summary>MTU of both veth ends.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>
    /// When set, A and B are not joined directly: a third namespace (<c>demi-PID-SEQ-m</c>) sits between
    /// them with a veth pair to each side, and an impairing relay in it forwards every frame between the
    /// two with this loss, reordering, duplication and delay (see <see cref="VethNamespaces.RelayStatistics"/>).
    /// The relay is transparent at layer 2: A and B see each other's MAC addresses, ARP included.
    /// </summary>
    public ImpairmentOptions? Impairment { get; init; }
}
