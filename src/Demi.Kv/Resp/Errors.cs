namespace Demi.Kv.Resp;

/// <summary>Error replies worded as redis-server 7.0 words them (checked against it in the tests).</summary>
internal static class Errors
{
    public static ReadOnlySpan<byte> WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value"u8;
    public static ReadOnlySpan<byte> NotInteger => "ERR value is not an integer or out of range"u8;
    public static ReadOnlySpan<byte> Overflow => "ERR increment or decrement would overflow"u8;
    public static ReadOnlySpan<byte> Syntax => "ERR syntax error"u8;
    public static ReadOnlySpan<byte> OutOfMemory => "OOM command not allowed when used memory > 'maxmemory'."u8;
    public static ReadOnlySpan<byte> MaxClients => "ERR max number of clients reached"u8;
    public static ReadOnlySpan<byte> NoProto => "NOPROTO unsupported protocol version"u8;
    public static ReadOnlySpan<byte> DbIndex => "ERR DB index is out of range"u8;
    public static ReadOnlySpan<byte> ExpireNxXx => "ERR NX and XX, GT or LT options at the same time are not compatible"u8;
    public static ReadOnlySpan<byte> ExpireGtLt => "ERR GT and LT options at the same time are not compatible"u8;

    public static ReadOnlySpan<byte> Protocol(ProtocolError error) => error switch
    {
        ProtocolError.InvalidMultibulkLength => "ERR Protocol error: invalid multibulk length"u8,
        ProtocolError.InvalidBulkLength => "ERR Protocol error: invalid bulk length"u8,
        ProtocolError.TooBigInline => "ERR Protocol error: too big inline request"u8,
        ProtocolError.TooBigMultibulk => "ERR Protocol error: too big mbulk count string"u8,
        _ => "ERR Protocol error"u8,
    };
}
