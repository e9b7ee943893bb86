using System.Runtime.InteropServices;

namespace Demi.Native;

/// <summary>
/// <c>demi_accept_result_t</c> (20 bytes packed): the new connection's queue descriptor and its peer.
/// In a <see cref="QResult"/> it overlays the value union (<see cref="QResult.AcceptedQd"/>, <see cref="QResult.AcceptedAddress"/>).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct AcceptResult
{
    /// <summary>Queue descriptor of the accepted connection.</summary>
    public int Qd;

    /// <summary>The peer's address.</summary>
    public SockAddrIn Address;
}
