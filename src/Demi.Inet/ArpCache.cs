using System.Collections.Concurrent;

namespace Demi.Inet;

/// <summary>
/// The IPv4 → MAC table of one interface: static entries that never expire and learned ones with a
/// TTL. Thread-safe so that the stacks of several NIC queues (shards) on the same interface can share
/// one: an ARP reply may land on any queue, and every shard then sees the answer. Lookups (the
/// per-packet path) are lock-free and allocation-free; updates happen only on ARP traffic.
/// </summary>
public sealed class ArpCache
{
    private readonly record struct Entry(MacAddress Mac, long ExpiresAt, bool Static);

    private readonly ConcurrentDictionary<uint, Entry> _entries;
    private int _learned;

    /// <summary>Creates a cache holding at most <paramref name="capacity"/> learned entries (static ones are not counted).</summary>
    public ArpCache(int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _entries = new ConcurrentDictionary<uint, Entry>(Environment.ProcessorCount, capacity + 16);
    }

    /// <summary>Most learned entries kept; when full, learning a new neighbour drops the expired entries, or else the one closest to expiry.</summary>
    public int Capacity { get; }

    /// <summary>Entries present, expired ones not yet removed included.</summary>
    public int Count => _entries.Count;

    /// <summary>Adds or replaces a static entry.</summary>
    public void AddStatic(Ipv4Address address, MacAddress mac)
    {
        var entry = new Entry(mac, long.MaxValue, true);
        _entries.AddOrUpdate(address.Value, entry, (_, old) =>
        {
            if (!old.Static)
                Interlocked.Decrement(ref _learned);
            return entry;
        });
    }

    /// <summary>Looks up a static or unexpired entry at time <paramref name="now"/> (microseconds of the stack clock).</summary>
    public bool TryGet(Ipv4Address address, long now, out MacAddress mac) => TryGet(address.Value, now, out mac);

    internal bool TryGet(uint address, long now, out MacAddress mac)
    {
        if (_entries.TryGetValue(address, out var e))
        {
            if (e.ExpiresAt > now)
            {
                mac = e.Mac;
                return true;
            }
            // Lazily drop the expired entry, unless someone refreshed it meanwhile.
            if (_entries.TryRemove(new KeyValuePair<uint, Entry>(address, e)))
                Interlocked.Decrement(ref _learned);
        }
        mac = default;
        return false;
    }

    /// <summary>RFC 826 merge: refreshes an entry that exists (static ones stay). True when one existed.</summary>
    internal bool Refresh(uint address, MacAddress mac, long expiresAt)
    {
        if (!_entries.TryGetValue(address, out var e))
            return false;
        if (!e.Static)
            _entries.TryUpdate(address, new Entry(mac, expiresAt, false), e);
        return true;
    }

    /// <summary>
    /// Adds a learned entry (or refreshes an existing one). When the cache is full, expired entries are
    /// swept and, if none was, the learned entry closest to expiry (the oldest, all TTLs being equal) is
    /// evicted: a full table must not stop new neighbours from being learned. Runs on ARP traffic only.
    /// </summary>
    internal void Learn(uint address, MacAddress mac, long expiresAt, long now)
    {
        if (Refresh(address, mac, expiresAt))
            return;
        if (Volatile.Read(ref _learned) >= Capacity)
            MakeRoom(now);
        if (_entries.TryAdd(address, new Entry(mac, expiresAt, false)))
            Interlocked.Increment(ref _learned);
    }

    private void MakeRoom(long now)
    {
        bool swept = false;
        uint oldest = 0;
        Entry oldestEntry = default;
        bool found = false;
        foreach (var (address, entry) in _entries)
        {
            if (entry.Static)
                continue;
            if (entry.ExpiresAt <= now)
            {
                // Remove only this version: another thread may have refreshed it meanwhile.
                if (_entries.TryRemove(new KeyValuePair<uint, Entry>(address, entry)))
                {
                    Interlocked.Decrement(ref _learned);
                    swept = true;
                }
                continue;
            }
            if (!found || entry.ExpiresAt < oldestEntry.ExpiresAt)
            {
                oldest = address;
                oldestEntry = entry;
                found = true;
            }
        }
        if (!swept && found && _entries.TryRemove(new KeyValuePair<uint, Entry>(oldest, oldestEntry)))
            Interlocked.Decrement(ref _learned);
    }
}
