namespace Demi;

/// <summary>What a completed operation was (Demikernel's <c>demi_opcode_t</c>, same values).</summary>
public enum Opcode
{
    /// <summary>No operation (an empty result).</summary>
    Invalid = 0,
    /// <summary>A push (or pushto) completed.</summary>
    Push = 1,
    /// <summary>A pop completed; <see cref="QResult.Sga"/> holds the data.</summary>
    Pop = 2,
    /// <summary>An accept completed; <see cref="QResult.AcceptedQd"/> is the new connection.</summary>
    Accept = 3,
    /// <summary>A connect completed.</summary>
    Connect = 4,
    /// <summary>Demikernel's close completion; Demi's <c>Close</c> returns its result directly and never produces it.</summary>
    Close = 5,
    /// <summary>The operation failed; <see cref="QResult.Ret"/> holds the errno.</summary>
    Failed = 6,
}
