namespace Demi.Orleans;

/// <summary>
/// Lets a <see cref="DemiException"/> thrown in a grain reach its caller on any silo or client as a
/// <see cref="DemiException"/> with its errno, operation, descriptor and endpoint (Orleans has no codec
/// for an exception type it was not told about, and the call would fail with CodecNotFoundException).
/// </summary>
[RegisterConverter]
public sealed class DemiExceptionConverter : IConverter<DemiException, DemiExceptionSurrogate>
{
    /// <inheritdoc />
    public DemiException ConvertFromSurrogate(in DemiExceptionSurrogate surrogate)
        => surrogate.Operation is { } operation
            ? new DemiException(surrogate.ErrorCode, operation, surrogate.Qd, surrogate.Endpoint)
            : new DemiException(surrogate.ErrorCode, surrogate.Message);

    /// <inheritdoc />
    public DemiExceptionSurrogate ConvertToSurrogate(in DemiException value) => new()
    {
        ErrorCode = value.ErrorCode,
        Operation = value.Operation,
        Qd = value.Qd,
        Endpoint = value.Endpoint,
        Message = value.Message,
    };
}

/// <summary>The serialized form of a <see cref="DemiException"/> (see <see cref="DemiExceptionConverter"/>).</summary>
[GenerateSerializer]
public struct DemiExceptionSurrogate
{
    /// <summary>The errno.</summary>
    [Id(0)] public int ErrorCode;

    /// <summary>The operation that failed, when known.</summary>
    [Id(1)] public string? Operation;

    /// <summary>The descriptor, or -1.</summary>
    [Id(2)] public int Qd;

    /// <summary>The endpoint(s), when known.</summary>
    [Id(3)] public string? Endpoint;

    /// <summary>The message (used when the operation is not known).</summary>
    [Id(4)] public string Message;
}
