using System.Diagnostics;
using Demi.Kv.Resp;

namespace Demi.Kv;

/// <summary>
/// One client connection, owned by the shard its socket lives on (all its completions run there).
/// Requests are parsed in place in the popped sga; a frame cut by the end of a pop is carried over in
/// a native buffer. Commands run strictly in order: a step on a key of another shard is sent there
/// and the connection waits for the answer before going on, so pipelined replies keep their order.
/// One pop is outstanding at a time, and none while the client has too many reply bytes unsent.
/// </summary>
internal sealed unsafe partial class KvConnection : IReplySink, IDisposable
{
    private readonly KvShard _shard;
    private readonly LibOS _libOS;
    private readonly KvServerOptions _options;
    private readonly RespRequest _request = new();
    private readonly NativeBuffer _carry = new();
    private Sga _input;
    private int _inputOffset;
    private bool _hasInput;
    private int _needed;
    private bool _popPosted;
    private bool _awaiting;
    private bool _closing;
    private bool _closed;
    private bool _frameFromCarry;
    private int _frameLength;
    private int _pushesInFlight;
    private long _bytesInFlight;
    private long _now; // Environment.TickCount64 at the start of this batch (Process)

    public KvConnection(KvShard shard, int qd, long id)
    {
        _shard = shard;
        _libOS = shard.LibOS;
        _options = shard.Options;
        Qd = qd;
        Id = id;
        Output = new ReplyWriter(_libOS, this);
        Call = new KeyCall(this);
        LastActivity = Environment.TickCount64;
    }

    public int Qd { get; }

    public int ShardId => _shard.Id;

    public long Id { get; }

    public ReplyWriter Output { get; }

    /// <summary>The call object of this connection's current key operation.</summary>
    public KeyCall Call { get; }

    /// <summary>TickCount64 of the last bytes received.</summary>
    public long LastActivity { get; private set; }

    /// <summary>True while a step runs on another shard (it must not be closed under it).</summary>
    public bool AwaitingRemote => _awaiting;

    public bool IsClosed => _closed;

    /// <summary>True when the connection counts against the client limit.</summary>
    public bool Counted { get; private set; }

    /// <summary>Starts serving: the first pop (or, over the client limit, the error and the close).</summary>
    public void Start(bool overLimit)
    {
        Counted = !overLimit;
        if (overLimit)
        {
            Output.Error(Errors.MaxClients);
            Output.Flush();
            BeginClose();
            return;
        }
        MaybeRead();
    }

    public void OnCompletion(in QResult result)
    {
        switch (result.Opcode)
        {
            case Opcode.Pop:
                _popPosted = false;
                OnPop(result.Sga);
                break;
            case Opcode.Push:
                OnPushed(result.Sga);
                break;
            case Opcode.Failed:
                if (result.Sga.IsAllocated)
                    OnPushed(result.Sga); // a failed push hands its buffer back
                else
                    _popPosted = false;
                if (result.Ret != Errno.ECANCELED)
                    Abort();
                else if (_closing)
                    TryFinishClose();
                break;
        }
    }

    private void OnPop(in Sga sga)
    {
        if (_closing)
        {
            _libOS.SgaFree(sga);
            TryFinishClose();
            return;
        }
        if (sga.Length == 0)
        {
            _libOS.SgaFree(sga); // end of stream
            BeginClose();
            return;
        }
        long now = Environment.TickCount64;
        LastActivity = now;
        if (_carry.Length > 0)
        {
            if ((long)_carry.Length + sga.Length > _options.MaxQueryBuffer)
            {
                _libOS.SgaFree(sga);
                ProtocolFailure(ProtocolError.InvalidBulkLength);
                return;
            }
            _carry.Append((byte*)sga.Segment.Buffer, sga.Length);
            _libOS.SgaFree(sga);
        }
        else
        {
            _input = sga;
            _inputOffset = 0;
            _hasInput = true;
        }
        Process(now);
    }

    /// <summary>Parses and runs commands until the input is used up, a step waits on another shard, or the connection closes.</summary>
    private void Process(long now)
    {
        _now = now;
        while (!_closing && !_awaiting)
        {
            if (_bytesInFlight >= _options.MaxPendingReplyBytes)
                break; // a slow reader: go on when its replies have drained (OnPushed)
            byte* data;
            int length;
            bool fromCarry;
            if (_carry.Length > 0)
            {
                data = _carry.Data;
                length = _carry.Length;
                fromCarry = true;
                if (length < _needed)
                    break; // the frame is known to need more bytes than there are
            }
            else if (_hasInput)
            {
                data = (byte*)_input.Segment.Buffer + _inputOffset;
                length = _input.Length - _inputOffset;
                fromCarry = false;
            }
            else
            {
                break;
            }
            var status = RespParser.Parse(data, length, _request, _options, out int consumed, out int needed, out var error, out byte got);
            if (status == ParseStatus.Complete)
            {
                _needed = 0;
                _frameFromCarry = fromCarry;
                _frameLength = consumed;
                if (_request.Count == 0)
                {
                    ConsumeFrame();
                    continue;
                }
                if (!StartCommand())
                    break; // waiting for another shard; the frame stays where it is
                ConsumeFrame();
            }
            else if (status == ParseStatus.Incomplete)
            {
                if (!fromCarry)
                {
                    _carry.Append(data, length);
                    ReleaseInput();
                }
                _needed = needed;
                if (needed > _carry.Capacity && needed <= _options.MaxQueryBuffer)
                    _carry.Reserve(needed); // grow once for a large value, not pop by pop
                break;
            }
            else
            {
                ProtocolFailure(error, got);
                break;
            }
        }
        if (!_closed)
        {
            Output.Flush();
            MaybeRead();
        }
    }

    private void ConsumeFrame()
    {
        if (_frameFromCarry)
        {
            _carry.Consume(_frameLength);
            if (_carry.Length == 0)
                _carry.TrimIfEmpty(1024 * 1024);
        }
        else
        {
            _inputOffset += _frameLength;
            if (_inputOffset >= _input.Length)
                ReleaseInput();
        }
    }

    private void ReleaseInput()
    {
        if (_hasInput)
            _libOS.SgaFree(_input);
        _hasInput = false;
        _input = default;
        _inputOffset = 0;
    }

    private void ProtocolFailure(ProtocolError error, byte got = 0)
    {
        if (error == ProtocolError.ExpectedDollar)
        {
            Output.Raw("-ERR Protocol error: expected '$', got '"u8);
            Output.Raw(new ReadOnlySpan<byte>(&got, 1));
            Output.Raw("'\r\n"u8);
        }
        else
        {
            Output.Error(Errors.Protocol(error));
        }
        Output.Flush();
        _shard.Server.CountProtocolError();
        BeginClose(); // as Redis: reply, then disconnect
    }

    private void MaybeRead()
    {
        if (_popPosted || _hasInput || _awaiting || _closing || _bytesInFlight >= _options.MaxPendingReplyBytes)
            return;
        if (_libOS.PostPop(Qd) == 0)
            _popPosted = true;
        else
            Abort();
    }

    /// <summary>Takes a full reply chunk from <see cref="Output"/> and pushes it.</summary>
    public void OnChunk(in Sga chunk)
    {
        if (_closed)
        {
            _libOS.SgaFree(chunk);
            return;
        }
        int length = chunk.Length;
        if (_libOS.PostPush(Qd, chunk) != 0)
        {
            _libOS.SgaFree(chunk);
            Abort();
            return;
        }
        _pushesInFlight++;
        _bytesInFlight += length;
    }

    private void OnPushed(in Sga sga)
    {
        _pushesInFlight--;
        _bytesInFlight -= sga.Length;
        _libOS.SgaFree(sga);
        if (_closing)
            TryFinishClose();
        else if (!_awaiting && _bytesInFlight < _options.MaxPendingReplyBytes)
            Process(Environment.TickCount64); // resumes input held back for a slow reader, then reads on
    }

    /// <summary>Closes once every reply pushed so far is sent (a close cancels pending pushes).</summary>
    public void BeginClose()
    {
        if (_closing)
            return;
        _closing = true;
        TryFinishClose();
    }

    /// <summary>Closes now (error, reset, idle timeout): pending replies are dropped.</summary>
    public void Abort()
    {
        _closing = true;
        _pushesInFlight = 0;
        TryFinishClose();
    }

    private void TryFinishClose()
    {
        if (_closed || _pushesInFlight > 0 || _awaiting)
            return;
        _closed = true;
        _shard.Release(this); // uncounts, then closes: a client that sees end of stream sees the count already down

    }

    public void Dispose()
    {
        Output.Discard();
        ReleaseInput();
        _carry.Dispose();
        Call.Dispose();
    }
}
