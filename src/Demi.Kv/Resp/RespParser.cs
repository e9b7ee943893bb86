namespace Demi.Kv.Resp;

/// <summary>Outcome of parsing the front of a request stream.</summary>
internal enum ParseStatus
{
    /// <summary>A whole command was parsed (or an empty one skipped: then the request has no arguments).</summary>
    Complete,

    /// <summary>The frame is not all there yet; more bytes are needed.</summary>
    Incomplete,

    /// <summary>The bytes break the protocol; the client gets an error and is disconnected (as Redis does).</summary>
    Error,
}

/// <summary>The protocol errors, each replied with Redis's own wording.</summary>
internal enum ProtocolError
{
    None,
    InvalidMultibulkLength,
    InvalidBulkLength,
    ExpectedDollar,
    TooBigInline,
    TooBigMultibulk,
}

/// <summary>
/// RESP2 request parser (https://redis.io/docs/reference/protocol-spec/): arrays of bulk strings, and
/// inline commands (a line of space-separated words). Parses in place: the request refers to the
/// bytes, nothing is copied. Stateless between calls: an incomplete frame is parsed again from its
/// start once more bytes arrived (the caller waits until <c>needed</c> bytes are there).
/// </summary>
internal static unsafe class RespParser
{
    private const byte CR = (byte)'\r';
    private const byte LF = (byte)'\n';

    /// <summary>
    /// Parses one command from <paramref name="data"/>. On Complete, <paramref name="consumed"/> is its
    /// size. On Incomplete, <paramref name="needed"/> is a lower bound of the frame's total size.
    /// On Error, <paramref name="error"/> says which and <paramref name="got"/> the offending byte.
    /// </summary>
    public static ParseStatus Parse(byte* data, int length, RespRequest request, KvServerOptions limits,
        out int consumed, out int needed, out ProtocolError error, out byte got)
    {
        consumed = 0;
        needed = length + 1;
        error = ProtocolError.None;
        got = 0;
        request.Reset(data);
        if (length == 0)
            return ParseStatus.Incomplete;
        if (data[0] != (byte)'*')
            return ParseInline(data, length, request, limits, out consumed, out needed, out error);

        int pos = 1;
        var status = ReadNumber(data, length, ref pos, out long count, out bool valid);
        if (status == ParseStatus.Incomplete)
        {
            if (length > limits.MaxInlineLength)
                return Fail(ProtocolError.TooBigMultibulk, out error);
            return ParseStatus.Incomplete;
        }
        if (!valid || count > limits.MaxArrayLength)
            return Fail(ProtocolError.InvalidMultibulkLength, out error);
        if (count <= 0)
        {
            // "*0" and "*-1" are skipped, as Redis does.
            consumed = pos;
            return ParseStatus.Complete;
        }
        for (long i = 0; i < count; i++)
        {
            if (pos >= length)
            {
                needed = pos + 4;
                return ParseStatus.Incomplete;
            }
            if (data[pos] != (byte)'$')
            {
                got = data[pos];
                return Fail(ProtocolError.ExpectedDollar, out error);
            }
            pos++;
            status = ReadNumber(data, length, ref pos, out long bulk, out valid);
            if (status == ParseStatus.Incomplete)
            {
                if (length - pos > 32)
                    return Fail(ProtocolError.InvalidBulkLength, out error); // a length line longer than any number
                needed = pos + 3;
                return ParseStatus.Incomplete;
            }
            if (!valid || bulk < 0 || bulk > limits.MaxBulkLength)
                return Fail(ProtocolError.InvalidBulkLength, out error);
            long end = pos + bulk + 2;
            if (end > length)
            {
                needed = (int)Math.Min(int.MaxValue, end);
                return ParseStatus.Incomplete;
            }
            // Like Redis, the two bytes after the data are skipped, not checked.
            request.Add(pos, (int)bulk);
            pos = (int)end;
        }
        consumed = pos;
        return ParseStatus.Complete;
    }

    private static ParseStatus Fail(ProtocolError which, out ProtocolError error)
    {
        error = which;
        return ParseStatus.Error;
    }

    /// <summary>Reads a decimal integer line ("123\r\n") starting at <paramref name="pos"/>.</summary>
    private static ParseStatus ReadNumber(byte* data, int length, ref int pos, out long value, out bool valid)
    {
        valid = true;
        int start = pos;
        // Fast path for the lengths nearly every request has ("2\r\n", "3\r\n", "16\r\n"): one or two
        // digits. The byte loop below was most of the parser's 7 % of the shard's samples.
        if (start + 3 < length)
        {
            uint d0 = (uint)(data[start] - '0');
            uint d1 = (uint)(data[start + 1] - '0');
            if (d0 <= 9 && data[start + 1] == CR && data[start + 2] == LF)
            {
                value = d0;
                pos = start + 3;
                return ParseStatus.Complete;
            }
            if (d0 <= 9 && d1 <= 9 && data[start + 2] == CR && data[start + 3] == LF)
            {
                value = d0 * 10 + d1;
                pos = start + 4;
                return ParseStatus.Complete;
            }
        }
        value = 0;
        int i = pos;
        bool negative = false;
        if (i < length && data[i] == (byte)'-')
        {
            negative = true;
            i++;
        }
        int digits = 0;
        for (; i < length; i++)
        {
            byte b = data[i];
            if (b == CR)
                break;
            if (b < (byte)'0' || b > (byte)'9' || digits >= 18)
            {
                valid = false;
                // Keep scanning for the line end so that the caller can tell "bad" from "incomplete".
                continue;
            }
            value = value * 10 + (b - '0');
            digits++;
        }
        if (i + 1 >= length)
        {
            pos = start;
            return ParseStatus.Incomplete;
        }
        if (data[i + 1] != LF || digits == 0)
            valid = false;
        if (negative)
            value = -value;
        pos = i + 2;
        return ParseStatus.Complete;
    }

    private static ParseStatus ParseInline(byte* data, int length, RespRequest request, KvServerOptions limits,
        out int consumed, out int needed, out ProtocolError error)
    {
        consumed = 0;
        needed = length + 1;
        error = ProtocolError.None;
        int newline = new ReadOnlySpan<byte>(data, length).IndexOf(LF);
        if (newline < 0)
        {
            if (length > limits.MaxInlineLength)
                return Fail(ProtocolError.TooBigInline, out error);
            return ParseStatus.Incomplete;
        }
        int lineEnd = newline > 0 && data[newline - 1] == CR ? newline - 1 : newline;
        int i = 0;
        while (i < lineEnd)
        {
            while (i < lineEnd && (data[i] == (byte)' ' || data[i] == (byte)'\t'))
                i++;
            int start = i;
            while (i < lineEnd && data[i] != (byte)' ' && data[i] != (byte)'\t')
                i++;
            if (i > start)
                request.Add(start, i - start);
        }
        consumed = newline + 1;
        return ParseStatus.Complete;
    }
}
