using Demi.Buffers;

namespace Demi.Runtime;

/// <summary>
/// A validated push as the owning actor receives it. The runtime has taken a reference on
/// <see cref="Buffer"/> for the push; the actor gives it back with <see cref="QueueActor.CompletePush"/>
/// (or hands it on, e.g. to a NIC, and completes separately).
/// </summary>
// Not a readonly struct: the runtime writes one in place in a mailbox slot and hands the actor a
// reference to it (a copy built aside costs a 64-byte move and a store-forwarding stall per push).
public struct PushRequest
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
    public ulong Qt { readonly get; internal set; }

    /// <summary>The app's scatter-gather array (named again in the completion).</summary>
    public Sga Sga { readonly get; internal set; }

    /// <summary>The buffer behind <see cref="Sga"/>, with one reference held for this push.</summary>
    public BufferRef Buffer { readonly get; internal set; }

    /// <summary>The destination of a <c>PushTo</c> (ignored by connected TCP sockets).</summary>
    public Ipv4Endpoint Destination { readonly get; internal set; }

    /// <summary>True for a <c>PushTo</c>, i.e. when <see cref="Destination"/> is meaningful.</summary>
    public bool HasDestination { readonly get; internal set; }
}
