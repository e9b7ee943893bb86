namespace Demi;

/// <summary>What a completed operation was (Demikernel's <c>demi_opcode_t</c>, same values).</summary>
public enum Opcode
{
    Invalid = 0,
    Push = 1,
    Pop = 2,
    Accept = 3,
    Connect = 4,
    Close = 5,
    /// <summary>The operation failed; <see cref="QResult.Ret"/> holds the errno.</summary>
    Failed = 6,
}
