namespace Demi;

// Graceful shutdown for hosts: wait until what pushes reported as done has left, then Dispose.
public sealed partial class LibOS
{
    private static readonly TimeSpan DrainPollInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Waits until no open descriptor has unsent data (queued pushes, or on the stack's TCP bytes not
    /// yet acknowledged). True when drained; false when <paramref name="cancellationToken"/> (for
    /// example a host's shutdown timeout) fired first. It starts nothing new and closes nothing: call
    /// <see cref="Dispose"/> afterwards. Never call it on a shard thread (it waits for every shard).
    /// </summary>
    public async Task<bool> DrainAsync(CancellationToken cancellationToken = default)
    {
        while (UnsentDescriptors() > 0)
        {
            try
            {
                await Task.Delay(DrainPollInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return UnsentDescriptors() == 0;
            }
        }
        return true;
    }

    /// <summary>True while descriptor <paramref name="qd"/> has queued pushes or unacknowledged pushed bytes (checked on its shard).</summary>
    public bool HasUnsentData(int qd)
    {
        var actor = _descriptors.Get(qd);
        if (actor is null || actor.IsClosed)
            return false;
        bool unsent = false;
        return actor.Shard.Invoke(() => { unsent = !actor.IsClosed && actor.HasUnsentData; return 0; }) == 0 && unsent;
    }

    /// <summary>Open descriptors with unsent data (each checked on its shard).</summary>
    public int UnsentDescriptors()
    {
        if (IsDisposed)
            return 0;
        int count = 0;
        foreach (var actor in _descriptors.Snapshot())
        {
            if (actor.IsClosed)
                continue;
            bool unsent = false;
            if (actor.Shard.Invoke(() => { unsent = !actor.IsClosed && actor.HasUnsentData; return 0; }) == 0 && unsent)
                count++;
        }
        return count;
    }
}
