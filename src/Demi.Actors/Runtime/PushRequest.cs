using Demi.Buffers;

namespace Demi.Runtime;

/// <summary>
/// A validated push as the owning actor receives it. The runtime has taken a reference on
/// <see cref="Buffer"/> for the push; the actor gives it back with <see cref="QueueActor.CompletePush"/>
/// (or hands it on, e.g. to a NIC, and completes separately).
/// </summary>
public readonly struct PushRequest
{
    /// <summary>Bundles a validated push; <paramref name="buffer"/> carries the reference the runtime took.</summary>
    public PushRequest(ulong qt, in Sga sga, BufferRef buffer, Ipv4Endpoint destination, bool hasDestination)
    {
        Qt = qt;
        Sga = sga;
        Buffer = buffer;
        Destination = destination;
        HasDestination = hasDestination;
    }

    /// <summary>The queue token to complete.</summary>
    public ulong Qt { get; }

    /// <summary>The app's scatter-gather array (named again in the completion).</summary>
    public Sga Sga { get; }

    /// <summary>The buffer behind <see cref="Sga"/>, with one reference held for this push.</summary>
    public BufferRef Buffer { get; }

    /// <summary>The destination of a <c>PushTo</c> (ignored by connected TCP sockets).</summary>
    public Ipv4Endpoint Destination { get; }

    /// <summary>True for a <c>PushTo</c>, i.e. when <see cref="Destination"/> is meaningful.</summary>
    public bool HasDestination { get; }
}
