using Demi.Buffers;

namespace Demi.Runtime;

/// <summary>
/// A validated push as the owning actor receives it. The runtime has taken a reference on
/// <see cref="Buffer"/> for the push; the actor gives it back with <see cref="QueueActor.CompletePush"/>
/// (or hands it on, e.g. to a NIC, and completes separately).
/// </summary>
public readonly struct PushRequest
{
    public PushRequest(ulong qt, in Sga sga, BufferRef buffer, Ipv4Endpoint destination, bool hasDestination)
    {
        Qt = qt;
        Sga = sga;
        Buffer = buffer;
        Destination = destination;
        HasDestination = hasDestination;
    }

    public ulong Qt { get; }

    public Sga Sga { get; }

    public BufferRef Buffer { get; }

    /// <summary>The destination of a <c>PushTo</c> (ignored by connected TCP sockets).</summary>
    public Ipv4Endpoint Destination { get; }

    public bool HasDestination { get; }
}
