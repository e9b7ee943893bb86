using Demi.Inet;
using Demi.Transport.Dpdk.Internal;

namespace Demi.Transport.Dpdk;

/// <summary>
/// Two net_ring ports of this process wired back to back, for deterministic tests with no kernel and
/// no network: what side A transmits on queue <c>q</c> is received by side B on queue <c>q</c>, and
/// the reverse (a <c>--vdev net_ring0</c> loops a port onto itself instead). Each side gets its own
/// locally administered MAC and opens as an ordinary <see cref="DpdkBackend"/> through
/// <see cref="DpdkOptions.PortId"/>. A ring holds up to 1,023 frames per queue and direction; frames
/// are never lost otherwise (a full ring refuses the burst, counted as <c>TxRingFull</c>).
/// </summary>
/// <remarks>
/// net_ring has no wire, no link-up delay, no offloads and no RSS: a frame lands on the peer's
/// queue with the sender's queue (= shard) index, and arrives as an mbuf of the sender's pool, which
/// the receiving queue copies into its own and frees (dropping the sender's in-flight reference).
/// Dispose the pair after both backends (their disposal stops the ports and empties the rings).
/// </remarks>
public sealed unsafe class DpdkRingPair : IDisposable
{
    /// <summary>The driver name of a pair's ports.</summary>
    public const string Driver = "net_ring";

    /// <summary>Most queue pairs a side can have (DPDK's RTE_PMD_RING_MAX_RX_RINGS).</summary>
    public const int MaxQueues = 16;

    /// <summary>Longest pair name (the rings and ports are named after it).</summary>
    public const int MaxNameLength = 16;

    private const int ENOSPC = 28, EEXIST = 17, EBUSY = 16, ELIBACC = 79;

    private static int s_sequence;
    private int _disposed;

    private DpdkRingPair(string name, int queues, ushort portA, ushort portB, MacAddress macA, MacAddress macB)
    {
        Name = name;
        QueueCount = queues;
        PortA = portA;
        PortB = portB;
        MacA = macA;
        MacB = macB;
    }

    /// <summary>The pair's name (its ports are <c>net_ring_NAME_a</c> and <c>net_ring_NAME_b</c>).</summary>
    public string Name { get; }

    /// <summary>RX/TX queue pairs on each side.</summary>
    public int QueueCount { get; }

    /// <summary>Side A's port id (for <see cref="DpdkOptions.PortId"/>).</summary>
    public ushort PortA { get; }

    /// <summary>Side B's port id.</summary>
    public ushort PortB { get; }

    /// <summary>Side A's MAC address.</summary>
    public MacAddress MacA { get; }

    /// <summary>Side B's MAC address.</summary>
    public MacAddress MacB { get; }

    /// <summary>
    /// Creates a pair named <paramref name="name"/> (unique in the process; letters, digits, <c>_</c> and
    /// <c>-</c>, at most <see cref="MaxNameLength"/>) with <paramref name="queues"/> queue pairs a side.
    /// The EAL must be running.
    /// </summary>
    /// <exception cref="DpdkException">The name is taken, the ring PMD is not installed, or DPDK refuses; the message says which.</exception>
    public static DpdkRingPair Create(string name, int queues = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            throw new ArgumentException($"A ring pair name is 1 to {MaxNameLength} letters, digits, '_' or '-': '{name}'.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queues, MaxQueues);
        if (!DpdkEal.IsInitialized)
            throw new InvalidOperationException("Start the EAL (DpdkEal.Initialize) before creating a ring pair.");
        int seq = Interlocked.Increment(ref s_sequence);
        // Locally administered unicast (02:...), distinct per process, pair and side.
        int pid = Environment.ProcessId;
        byte* macA = stackalloc byte[] { 0x02, 0x64, (byte)(pid >> 8), (byte)pid, (byte)seq, 0x0a };
        byte* macB = stackalloc byte[] { 0x02, 0x64, (byte)(pid >> 8), (byte)pid, (byte)seq, 0x0b };
        ushort portA, portB;
        int rc = DpdkNative.demi_dpdk_ring_pair(name, (ushort)queues, macA, macB, &portA, &portB);
        if (rc != 0)
        {
            int e = -rc;
            string why = e switch
            {
                EEXIST => $"a ring pair named '{name}' already exists in this process",
                ELIBACC => "the net_ring PMD (librte_net_ring.so.23) is not installed: apt-get install dpdk",
                ENOSPC => "too many ring pairs in this process (32 at most)",
                _ => $"{DpdkNative.StrError(e)} (errno {e})",
            };
            throw new DpdkException($"cannot create DPDK ring pair '{name}': {why}", e);
        }
        return new DpdkRingPair(name, queues, portA, portB,
            MacAddress.Read(new ReadOnlySpan<byte>(macA, 6)), MacAddress.Read(new ReadOnlySpan<byte>(macB, 6)));
    }

    /// <summary>Closes both ports and frees the rings.</summary>
    /// <exception cref="InvalidOperationException">A backend still runs on one side (dispose the backends first).</exception>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed) != 0)
            return;
        int rc = DpdkNative.demi_dpdk_ring_pair_free(PortA);
        if (rc == -EBUSY)
            throw new InvalidOperationException($"Ring pair '{Name}': a backend still runs on one of its ports; dispose the backends first.");
        Volatile.Write(ref _disposed, 1);
    }

    /// <inheritdoc/>
    public override string ToString() => $"ring pair {Name}: port {PortA} ({MacA}) <-> port {PortB} ({MacB}), {QueueCount} queue pair(s)";
}
