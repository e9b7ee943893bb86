using System.Runtime.InteropServices;

namespace Demi;

/// <summary>
/// The result of a completed operation, byte-compatible with Demikernel's <c>demi_qresult_t</c>
/// (64 bytes, packed: opcode at 0, qd at 4, qt at 8, ret at 16, value union at 24).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct QResult
{
    /// <summary>What the operation was, or <see cref="Opcode.Failed"/>.</summary>
    [FieldOffset(0)] public Opcode Opcode;

    /// <summary>The queue descriptor the operation ran on.</summary>
    [FieldOffset(4)] public int Qd;

    /// <summary>The queue token of the operation.</summary>
    [FieldOffset(8)] public ulong Qt;

    /// <summary>0, or for <see cref="Opcode.Failed"/> the errno.</summary>
    [FieldOffset(16)] public long Ret;

    /// <summary>For Pop: the data (the app frees it). For Push: the pushed array.</summary>
    [FieldOffset(24)] public Sga Sga;

    /// <summary>For Accept: the new connection's queue descriptor.</summary>
    [FieldOffset(24)] public int AcceptedQd;

    /// <summary>For Accept: the peer's address.</summary>
    [FieldOffset(28)] public SockAddrIn AcceptedAddress;

    /// <summary>True when the operation failed (<see cref="Error"/> holds the errno).</summary>
    public readonly bool Failed => Opcode == Opcode.Failed;

    /// <summary>The errno of a failed operation, 0 otherwise.</summary>
    public readonly int Error => Opcode == Opcode.Failed ? (int)Ret : 0;

    /// <summary>A Failed result for operation <paramref name="qt"/> on <paramref name="qd"/> carrying <paramref name="errno"/>.</summary>
    public static QResult Fail(int qd, ulong qt, int errno) => new() { Opcode = Opcode.Failed, Qd = qd, Qt = qt, Ret = errno };

    /// <summary>A successful result with no payload.</summary>
    public static QResult Ok(Opcode opcode, int qd, ulong qt) => new() { Opcode = opcode, Qd = qd, Qt = qt };

    /// <summary>Throws a <see cref="DemiException"/> if the operation failed; returns the result otherwise.</summary>
    public readonly QResult ThrowIfFailed()
    {
        if (Opcode == Opcode.Failed)
            ThrowHelper.ThrowDemi((int)Ret);
        return this;
    }

    /// <summary>A short description for logs, e.g. "Failed(qd=3, qt=7, ECONNRESET)".</summary>
    public override readonly string ToString() => Opcode switch
    {
        Opcode.Failed => $"Failed(qd={Qd}, qt={Qt}, {Errno.Name(Ret)})",
        Opcode.Accept => $"Accept(qd={Qd}, qt={Qt}, new qd={AcceptedQd}, peer={AcceptedAddress})",
        Opcode.Pop => $"Pop(qd={Qd}, qt={Qt}, {Sga.Length} bytes)",
        _ => $"{Opcode}(qd={Qd}, qt={Qt})",
    };
}
