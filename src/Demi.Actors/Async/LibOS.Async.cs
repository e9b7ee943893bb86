using Demi.Internal;
using Demi.Runtime;

namespace Demi;

// The async face of the queue API: the same operations, redeemed by awaiting instead of Wait.
public sealed partial class LibOS
{
    /// <summary>Pops asynchronously. A submission error completes at once as a Failed result.</summary>
    public ValueTask<QResult> PopAsync(int qd) => SubmitAsync(qd, Operation.Pop());

    /// <summary>Pushes asynchronously.</summary>
    public ValueTask<QResult> PushAsync(int qd, in Sga sga) => SubmitAsync(qd, Operation.Push(sga));

    /// <summary>Pushes to <paramref name="destination"/> asynchronously.</summary>
    public ValueTask<QResult> PushToAsync(int qd, in Sga sga, Ipv4Endpoint destination)
        => _descriptors.Get(qd) is SocketActor
            ? SubmitAsync(qd, Operation.PushTo(sga, destination))
            : new ValueTask<QResult>(QResult.Fail(qd, 0, Errno.EBADF));

    /// <summary>Accepts asynchronously.</summary>
    public ValueTask<QResult> AcceptAsync(int qd) => SubmitAsync(qd, Operation.Accept());

    /// <summary>Connects asynchronously.</summary>
    public ValueTask<QResult> ConnectAsync(int qd, Ipv4Endpoint remote) => SubmitAsync(qd, Operation.Connect(remote));

    private ValueTask<QResult> SubmitAsync(int qd, in Operation operation)
    {
        int err = _submitter.Submit(qd, operation, Redemption.Await, out _, out TokenSlot? slot);
        if (err != 0)
            return new ValueTask<QResult>(QResult.Fail(qd, 0, err));
        return new ValueTask<QResult>(slot!, slot!.Version);
    }
}
