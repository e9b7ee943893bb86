using Demi.Runtime;

namespace Demi.Internal;

/// <summary>Queue descriptors → actors. Lookups are lock-free; allocation (control path) takes a lock.</summary>
internal sealed class DescriptorTable
{
    /// <summary>Demikernel's descriptors start at 500; keeping that makes mix-ups with fds obvious.</summary>
    public const int FirstQd = 500;

    private readonly QueueActor?[] _actors;
    private readonly object _gate = new();
    private int _lowestFree;

    public DescriptorTable(int capacity) => _actors = new QueueActor?[capacity];

    public int Count { get; private set; }

    /// <summary>Assigns the lowest free descriptor; -1 when the table is full.</summary>
    public int Add(QueueActor actor)
    {
        lock (_gate)
        {
            for (int i = _lowestFree; i < _actors.Length; i++)
            {
                if (_actors[i] is null)
                {
                    actor.Qd = FirstQd + i;
                    Volatile.Write(ref _actors[i], actor);
                    _lowestFree = i + 1;
                    Count++;
                    return actor.Qd;
                }
            }
            return -1;
        }
    }

    public QueueActor? Get(int qd)
    {
        uint index = (uint)(qd - FirstQd);
        return index < (uint)_actors.Length ? Volatile.Read(ref _actors[index]) : null;
    }

    /// <summary>Removes and returns the actor; null if the descriptor was not open.</summary>
    public QueueActor? Remove(int qd)
    {
        uint index = (uint)(qd - FirstQd);
        if (index >= (uint)_actors.Length)
            return null;
        lock (_gate)
        {
            var actor = _actors[index];
            if (actor is null)
                return null;
            Volatile.Write(ref _actors[index], null);
            _lowestFree = Math.Min(_lowestFree, (int)index);
            Count--;
            return actor;
        }
    }

    public List<QueueActor> Snapshot()
    {
        lock (_gate)
            return _actors.Where(a => a is not null).ToList()!;
    }
}
