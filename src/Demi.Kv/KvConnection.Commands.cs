using System.Buffers.Text;
using System.Text;
using Demi.Kv.Resp;

namespace Demi.Kv;

internal sealed unsafe partial class KvConnection
{
    /// <summary>How the steps of a command make its reply.</summary>
    private enum Aggregate : byte
    {
        /// <summary>Each step writes its own reply (single-key commands; MGET after its array header).</summary>
        PerStep,
        /// <summary>The steps' integers are summed (DEL, EXISTS, DBSIZE).</summary>
        Sum,
        /// <summary>+OK, or -OOM if a step ran out of memory (MSET, FLUSHALL).</summary>
        Ok,
        /// <summary>:1 stored, :0 not, or -OOM (SETNX).</summary>
        Stored,
    }

    private CommandId _command;
    private KeyOp _stepOp;
    private KeyFlags _stepFlags;
    private Aggregate _aggregate;
    private int _step;
    private int _steps;
    private int _firstKey;
    private int _keyStride;
    private bool _perShard;
    private long _sum;
    private bool _outOfMemory;

    /// <summary>Runs the parsed request. False when it waits on another shard (it resumes in <see cref="OnRemoteReply"/>).</summary>
    private bool StartCommand()
    {
        var name = _request[0];
        int argc = _request.Count;
        if (!CommandTable.TryFind(name, out var info))
        {
            UnknownCommand();
            return true;
        }
        if (!CommandTable.ArityOk(info, argc))
        {
            WrongArity(info.Name);
            return true;
        }
        _command = info.Id;
        var w = Output;
        switch (info.Id)
        {
            case CommandId.Get:
                return Single(KeyOp.Get, KeyFlags.None, 0);
            case CommandId.Set:
                return Set();
            case CommandId.SetNx:
                Call.Value = _request.Pointer(2);
                Call.ValueLength = _request.Length(2);
                Call.Arg = 0;
                return Steps(KeyOp.Set, KeyFlags.Nx | KeyFlags.Silent, Aggregate.Stored, 1, 1, 1);
            case CommandId.SetEx:
            case CommandId.PSetEx:
                if (!KvStore.TryParseInteger(_request[2], out long amount))
                {
                    w.Error(Errors.NotInteger);
                    return true;
                }
                if (!ToDeadline(amount, info.Id == CommandId.SetEx ? 1000 : 1, absolute: false, out long deadline))
                {
                    w.Raw(info.Id == CommandId.SetEx ? "-ERR invalid expire time in 'setex' command\r\n"u8 : "-ERR invalid expire time in 'psetex' command\r\n"u8);
                    return true;
                }
                Call.Value = _request.Pointer(3);
                Call.ValueLength = _request.Length(3);
                Call.Arg = deadline;
                return Steps(KeyOp.Set, KeyFlags.None, Aggregate.PerStep, 1, 1, 1);
            case CommandId.Incr:
                return Single(KeyOp.IncrBy, KeyFlags.None, 1);
            case CommandId.Decr:
                return Single(KeyOp.IncrBy, KeyFlags.None, -1);
            case CommandId.IncrBy:
            case CommandId.DecrBy:
                if (!KvStore.TryParseInteger(_request[2], out long delta) || (info.Id == CommandId.DecrBy && delta == long.MinValue))
                {
                    w.Error(delta == long.MinValue && info.Id == CommandId.DecrBy ? "ERR decrement would overflow"u8 : Errors.NotInteger);
                    return true;
                }
                return Single(KeyOp.IncrBy, KeyFlags.None, info.Id == CommandId.DecrBy ? -delta : delta);
            case CommandId.MGet:
                w.ArrayHeader(argc - 1);
                return Steps(KeyOp.MGetElement, KeyFlags.None, Aggregate.PerStep, 1, 1, argc - 1);
            case CommandId.MSet:
                if (argc % 2 == 0)
                {
                    WrongArity(info.Name);
                    return true;
                }
                return Steps(KeyOp.Set, KeyFlags.Silent, Aggregate.Ok, 1, 2, (argc - 1) / 2);
            case CommandId.Del:
            case CommandId.Unlink:
                return Steps(KeyOp.Del, KeyFlags.Silent, Aggregate.Sum, 1, 1, argc - 1);
            case CommandId.Exists:
                return Steps(KeyOp.Exists, KeyFlags.Silent, Aggregate.Sum, 1, 1, argc - 1);
            case CommandId.Expire:
            case CommandId.PExpire:
                return Expire(info);
            case CommandId.Ttl:
                return Single(KeyOp.Ttl, KeyFlags.None, 0);
            case CommandId.PTtl:
                return Single(KeyOp.Ttl, KeyFlags.Milliseconds, 0);
            case CommandId.Type:
                return Single(KeyOp.Type, KeyFlags.None, 0);
            case CommandId.LPush:
            case CommandId.RPush:
                Call.Request = _request;
                Call.FirstValue = 2;
                return Single(KeyOp.Push, info.Id == CommandId.LPush ? KeyFlags.Left : KeyFlags.None, 0);
            case CommandId.LPop:
            case CommandId.RPop:
                return Single(KeyOp.Pop, info.Id == CommandId.LPop ? KeyFlags.Left : KeyFlags.None, 0);
            case CommandId.LLen:
                return Single(KeyOp.LLen, KeyFlags.None, 0);
            case CommandId.LRange:
                if (!KvStore.TryParseInteger(_request[2], out long start) || !KvStore.TryParseInteger(_request[3], out long stop))
                {
                    w.Error(Errors.NotInteger);
                    return true;
                }
                Call.Arg2 = stop;
                return Single(KeyOp.LRange, KeyFlags.None, start, keepArg2: true);
            case CommandId.DbSize:
                return ShardSteps(KeyOp.DbSize, Aggregate.Sum);
            case CommandId.FlushAll:
            case CommandId.FlushDb:
                if (argc > 2 || (argc == 2 && !Ascii.EqualsIgnoreCase(_request[1], "async"u8) && !Ascii.EqualsIgnoreCase(_request[1], "sync"u8)))
                {
                    w.Error(Errors.Syntax);
                    return true;
                }
                return ShardSteps(KeyOp.FlushAll, Aggregate.Ok);
            default:
                RunLocal(info);
                return true;
        }
    }

    private bool Single(KeyOp op, KeyFlags flags, long arg, bool keepArg2 = false)
    {
        if (!keepArg2)
            Call.Arg2 = 0;
        Call.Arg = arg;
        return Steps(op, flags, Aggregate.PerStep, 1, 1, 1);
    }

    private bool Steps(KeyOp op, KeyFlags flags, Aggregate aggregate, int firstKey, int stride, int steps)
    {
        _stepOp = op;
        _stepFlags = flags;
        _aggregate = aggregate;
        _firstKey = firstKey;
        _keyStride = stride;
        _steps = steps;
        _step = 0;
        _sum = 0;
        _outOfMemory = false;
        _perShard = false;
        return RunSteps();
    }

    private bool ShardSteps(KeyOp op, Aggregate aggregate)
    {
        bool done = Steps(op, KeyFlags.Silent, aggregate, 0, 0, _shard.Server.ShardCount);
        _perShard = true;
        return done;
    }

    /// <summary>Runs steps until one has to go to another shard; writes the aggregate reply when all are done.</summary>
    private bool RunSteps()
    {
        while (_step < _steps)
        {
            int owner;
            if (_perShard || _keyStride == 0)
            {
                _perShard = true;
                owner = _step;
                Call.Key = null;
                Call.KeyLength = 0;
            }
            else
            {
                int k = _firstKey + _step * _keyStride;
                Call.Key = _request.Pointer(k);
                Call.KeyLength = _request.Length(k);
                Call.Hash = Storage.KeyTable.Hash(Call.KeySpan);
                if (_command == CommandId.MSet)
                {
                    Call.Value = _request.Pointer(k + 1);
                    Call.ValueLength = _request.Length(k + 1);
                    Call.Arg = 0;
                }
                owner = _shard.Server.OwnerOf(Call.Hash);
            }
            Call.Op = _stepOp;
            Call.Flags = _stepFlags;
            if (owner == _shard.Id)
            {
                _shard.Store.Execute(Call, Output, _now);
                AfterStep();
            }
            else
            {
                _awaiting = true;
                Call.Reply = default;
                _shard.SendRequest(owner, Call);
                return false;
            }
        }
        Finish();
        return true;
    }

    private void AfterStep()
    {
        _sum += Call.Integer;
        if (Call.Integer < 0)
            _outOfMemory = true;
        _step++;
    }

    private void Finish()
    {
        switch (_aggregate)
        {
            case Aggregate.Sum:
                Output.Integer(_sum);
                break;
            case Aggregate.Stored:
                if (_outOfMemory)
                    Output.Error(Errors.OutOfMemory);
                else
                    Output.Integer(_sum);
                break;
            case Aggregate.Ok:
                if (_outOfMemory)
                    Output.Error(Errors.OutOfMemory);
                else
                    Output.SimpleString("OK"u8);
                break;
        }
        Call.Request = null;
    }

    /// <summary>The owning shard answered the current step (called on this connection's shard).</summary>
    public void OnRemoteReply()
    {
        _awaiting = false;
        if (Call.Reply.IsAllocated)
        {
            var reply = Call.Reply;
            Call.Reply = default;
            int length = reply.Length - (int)(Call.ReplyStart - (byte*)reply.Segment.Buffer);
            if (!_closed && !_closing)
                Output.Raw(new ReadOnlySpan<byte>(Call.ReplyStart, length));
            _libOS.SgaFree(reply);
        }
        AfterStep();
        if (_closing)
        {
            TryFinishClose();
            return;
        }
        _now = Environment.TickCount64; // the next steps run later than the batch started
        if (!RunSteps())
            return;
        ConsumeFrame();
        Process(_now);
    }

    private bool Set()
    {
        int argc = _request.Count;
        var flags = KeyFlags.None;
        long deadline = 0;
        bool hasExpiry = false;
        for (int i = 3; i < argc; i++)
        {
            var opt = _request[i];
            bool more = i + 1 < argc;
            if (Ascii.EqualsIgnoreCase(opt, "nx"u8) && (flags & KeyFlags.Xx) == 0)
                flags |= KeyFlags.Nx;
            else if (Ascii.EqualsIgnoreCase(opt, "xx"u8) && (flags & KeyFlags.Nx) == 0)
                flags |= KeyFlags.Xx;
            else if (Ascii.EqualsIgnoreCase(opt, "get"u8))
                flags |= KeyFlags.Get;
            else if (Ascii.EqualsIgnoreCase(opt, "keepttl"u8) && !hasExpiry)
                flags |= KeyFlags.KeepTtl;
            else if (more && !hasExpiry && (flags & KeyFlags.KeepTtl) == 0 && ExpiryUnit(opt, out long unitMs, out bool absolute))
            {
                hasExpiry = true;
                if (!KvStore.TryParseInteger(_request[++i], out long amount))
                {
                    Output.Error(Errors.NotInteger);
                    return true;
                }
                if (!ToDeadline(amount, unitMs, absolute, out deadline))
                {
                    Output.Error("ERR invalid expire time in 'set' command"u8);
                    return true;
                }
            }
            else
            {
                Output.Error(Errors.Syntax);
                return true;
            }
        }
        Call.Value = _request.Pointer(2);
        Call.ValueLength = _request.Length(2);
        Call.Arg = deadline;
        return Steps(KeyOp.Set, flags, Aggregate.PerStep, 1, 1, 1);
    }

    private static bool ExpiryUnit(ReadOnlySpan<byte> opt, out long unitMs, out bool absolute)
    {
        unitMs = 0;
        absolute = false;
        if (Ascii.EqualsIgnoreCase(opt, "ex"u8))
            unitMs = 1000;
        else if (Ascii.EqualsIgnoreCase(opt, "px"u8))
            unitMs = 1;
        else if (Ascii.EqualsIgnoreCase(opt, "exat"u8))
            (unitMs, absolute) = (1000, true);
        else if (Ascii.EqualsIgnoreCase(opt, "pxat"u8))
            (unitMs, absolute) = (1, true);
        return unitMs != 0;
    }

    /// <summary>Turns a relative or Unix-time expiry into a TickCount64 deadline; false when out of range (as Redis).</summary>
    private static bool ToDeadline(long amount, long unitMs, bool absolute, out long deadline)
    {
        deadline = 0;
        if (amount <= 0 || amount > long.MaxValue / unitMs)
            return false;
        long ms = amount * unitMs;
        long now = Environment.TickCount64;
        if (absolute)
            ms -= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (ms > long.MaxValue - now)
            return false;
        deadline = now + ms;
        if (deadline <= 0)
            deadline = 1; // already due: a nonzero deadline in the past
        return true;
    }

    private bool Expire(in CommandInfo info)
    {
        if (!KvStore.TryParseInteger(_request[2], out long amount))
        {
            Output.Error(Errors.NotInteger);
            return true;
        }
        var flags = KeyFlags.None;
        for (int i = 3; i < _request.Count; i++)
        {
            var opt = _request[i];
            if (Ascii.EqualsIgnoreCase(opt, "nx"u8))
                flags |= KeyFlags.Nx;
            else if (Ascii.EqualsIgnoreCase(opt, "xx"u8))
                flags |= KeyFlags.Xx;
            else if (Ascii.EqualsIgnoreCase(opt, "gt"u8))
                flags |= KeyFlags.Gt;
            else if (Ascii.EqualsIgnoreCase(opt, "lt"u8))
                flags |= KeyFlags.Lt;
            else
            {
                Output.Raw("-ERR Unsupported option "u8);
                Output.Raw(opt);
                Output.Raw("\r\n"u8);
                return true;
            }
        }
        if ((flags & KeyFlags.Nx) != 0 && (flags & (KeyFlags.Xx | KeyFlags.Gt | KeyFlags.Lt)) != 0)
        {
            Output.Error(Errors.ExpireNxXx);
            return true;
        }
        if ((flags & KeyFlags.Gt) != 0 && (flags & KeyFlags.Lt) != 0)
        {
            Output.Error(Errors.ExpireGtLt);
            return true;
        }
        long unit = info.Id == CommandId.PExpire ? 1 : 1000;
        long now = Environment.TickCount64;
        long deadline;
        if (amount <= 0)
        {
            deadline = 1; // in the past: the key is deleted
        }
        else if (amount > (long.MaxValue - now) / unit)
        {
            Output.Raw(info.Id == CommandId.PExpire ? "-ERR invalid expire time in 'pexpire' command\r\n"u8 : "-ERR invalid expire time in 'expire' command\r\n"u8);
            return true;
        }
        else
        {
            deadline = now + amount * unit;
        }
        return Single(KeyOp.Expire, flags, deadline);
    }

    private void UnknownCommand()
    {
        // Redis: "unknown command '%.128s', with args beginning with: " then "'%.*s' " per argument, up to 128 characters.
        var w = Output;
        w.Raw("-ERR unknown command '"u8);
        var name = _request[0];
        WriteSanitized(name[..Math.Min(name.Length, 128)]);
        w.Raw("', with args beginning with: "u8);
        int written = 0;
        for (int i = 1; i < _request.Count && written < 128; i++)
        {
            var arg = _request[i];
            arg = arg[..Math.Min(arg.Length, 128 - written)];
            w.Raw("'"u8);
            WriteSanitized(arg);
            w.Raw("' "u8);
            written += arg.Length + 3;
        }
        w.Raw("\r\n"u8);
    }

    /// <summary>Error text cannot hold CR or LF (Redis turns them into spaces).</summary>
    private void WriteSanitized(ReadOnlySpan<byte> text)
    {
        while (!text.IsEmpty)
        {
            int bad = text.IndexOfAny((byte)'\r', (byte)'\n');
            if (bad < 0)
            {
                Output.Raw(text);
                return;
            }
            Output.Raw(text[..bad]);
            Output.Raw(" "u8);
            text = text[(bad + 1)..];
        }
    }

    private void WrongArity(ReadOnlySpan<byte> name)
    {
        Output.Raw("-ERR wrong number of arguments for '"u8);
        Output.Raw(name);
        Output.Raw("' command\r\n"u8);
    }

    private void UnknownSubcommand(ReadOnlySpan<byte> command)
    {
        Output.Raw("-ERR unknown subcommand '"u8);
        var sub = _request[1];
        WriteSanitized(sub[..Math.Min(sub.Length, 128)]);
        Output.Raw("'. Try "u8);
        Output.Raw(command);
        Output.Raw(" HELP.\r\n"u8);
    }

    /// <summary>Commands that touch no keys: answered on this shard.</summary>
    private void RunLocal(in CommandInfo info)
    {
        var w = Output;
        int argc = _request.Count;
        switch (info.Id)
        {
            case CommandId.Ping:
                if (argc > 2)
                    WrongArity(info.Name);
                else if (argc == 2)
                    w.Bulk(_request[1]);
                else
                    w.SimpleString("PONG"u8);
                break;
            case CommandId.Echo:
                w.Bulk(_request[1]);
                break;
            case CommandId.Quit:
                w.SimpleString("OK"u8);
                Output.Flush();
                BeginClose();
                break;
            case CommandId.Select:
                if (!KvStore.TryParseInteger(_request[1], out long db))
                    w.Error("ERR value is not an integer or out of range"u8);
                else if (db != 0)
                    w.Error(Errors.DbIndex);
                else
                    w.SimpleString("OK"u8);
                break;
            case CommandId.Command:
                Command();
                break;
            case CommandId.Hello:
                Hello();
                break;
            case CommandId.Config:
                Config();
                break;
            case CommandId.Info:
                Info();
                break;
            case CommandId.Client:
                Client();
                break;
        }
    }

    private void Command()
    {
        var w = Output;
        if (_request.Count == 1)
        {
            w.ArrayHeader(0); // clients only look the table up for hints; an empty one is valid
            return;
        }
        var sub = _request[1];
        if (Ascii.EqualsIgnoreCase(sub, "count"u8))
            w.Integer(CommandTable.Count);
        else if (Ascii.EqualsIgnoreCase(sub, "docs"u8))
            w.ArrayHeader(0);
        else if (Ascii.EqualsIgnoreCase(sub, "info"u8))
        {
            w.ArrayHeader(_request.Count - 2);
            for (int i = 2; i < _request.Count; i++)
                w.NullArray();
        }
        else
            UnknownSubcommand("COMMAND"u8);
    }

    private void Hello()
    {
        var w = Output;
        if (_request.Count >= 2)
        {
            if (!KvStore.TryParseInteger(_request[1], out long version))
            {
                w.Error("ERR Protocol version is not an integer or out of range"u8);
                return;
            }
            if (version != 2)
            {
                w.Error(Errors.NoProto); // RESP3 is not served: clients fall back to RESP2
                return;
            }
        }
        w.ArrayHeader(14);
        w.Bulk("server"u8);
        w.Bulk("redis"u8);
        w.Bulk("version"u8);
        w.Bulk(KvServer.ReportedVersion);
        w.Bulk("proto"u8);
        w.Integer(2);
        w.Bulk("id"u8);
        w.Integer(Id);
        w.Bulk("mode"u8);
        w.Bulk("standalone"u8);
        w.Bulk("role"u8);
        w.Bulk("master"u8);
        w.Bulk("modules"u8);
        w.ArrayHeader(0);
    }

    private void Config()
    {
        var w = Output;
        var sub = _request[1];
        if (Ascii.EqualsIgnoreCase(sub, "get"u8))
        {
            if (_request.Count < 3)
            {
                w.Raw("-ERR wrong number of arguments for 'config|get' command\r\n"u8);
                return;
            }
            int pairs = 0;
            for (int i = 2; i < _request.Count; i++)
                pairs += ConfigValue(_request[i], write: false) ? 1 : 0;
            w.ArrayHeader(pairs * 2);
            for (int i = 2; i < _request.Count; i++)
                ConfigValue(_request[i], write: true);
        }
        else if (Ascii.EqualsIgnoreCase(sub, "set"u8))
        {
            if (_request.Count < 4 || _request.Count % 2 != 0)
            {
                w.Raw("-ERR wrong number of arguments for 'config|set' command\r\n"u8);
                return;
            }
            // Settings are fixed at start (command line); say so in Redis's words for an unknown option.
            w.Raw("-ERR Unknown option or number of arguments for CONFIG SET - '"u8);
            WriteSanitized(_request[2]);
            w.Raw("'\r\n"u8);
        }
        else if (Ascii.EqualsIgnoreCase(sub, "resetstat"u8))
            w.SimpleString("OK"u8);
        else
            UnknownSubcommand("CONFIG"u8);
    }

    /// <summary>The parameters CONFIG GET answers (what clients ask for on connect), in Redis's names.</summary>
    private static readonly byte[][] ConfigNames =
    [
        "save"u8.ToArray(), "appendonly"u8.ToArray(), "databases"u8.ToArray(), "maxmemory"u8.ToArray(),
        "maxclients"u8.ToArray(), "timeout"u8.ToArray(), "proto-max-bulk-len"u8.ToArray(),
        "slave-read-only"u8.ToArray(), "replica-read-only"u8.ToArray(),
    ];

    /// <summary>Writes (or only tests for) one CONFIG GET parameter's name and value.</summary>
    private bool ConfigValue(ReadOnlySpan<byte> name, bool write)
    {
        int index = -1;
        for (int i = 0; i < ConfigNames.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(name, ConfigNames[i]))
                index = i;
        }
        if (index < 0)
            return false;
        if (!write)
            return true;
        var w = Output;
        w.Bulk(ConfigNames[index]);
        switch (index)
        {
            case 0:
                w.Bulk(""u8);
                break;
            case 1:
                w.Bulk("no"u8);
                break;
            case 2:
                w.BulkNumber(1);
                break;
            case 3:
                w.BulkNumber(_options.MaxMemory);
                break;
            case 4:
                w.BulkNumber(_options.MaxClients);
                break;
            case 5:
                w.BulkNumber((long)_options.IdleTimeout.TotalSeconds);
                break;
            case 6:
                w.BulkNumber(_options.MaxBulkLength);
                break;
            default:
                w.Bulk("yes"u8);
                break;
        }
        return true;
    }

    private void Info()
    {
        var w = Output;
        Span<byte> text = stackalloc byte[512];
        int n = 0;
        Append(text, ref n, "# Server\r\nredis_version:"u8);
        Append(text, ref n, KvServer.ReportedVersion);
        Append(text, ref n, "\r\nredis_mode:standalone\r\nserver_name:demi-kv\r\nprocess_id:"u8);
        Utf8Formatter.TryFormat(Environment.ProcessId, text[n..], out int d);
        n += d;
        Append(text, ref n, "\r\n\r\n# Clients\r\nconnected_clients:"u8);
        Utf8Formatter.TryFormat(_shard.Server.ConnectedClients, text[n..], out d);
        n += d;
        Append(text, ref n, "\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"u8);
        w.Bulk(text[..n]);
    }

    private static void Append(Span<byte> buffer, ref int n, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(buffer[n..]);
        n += bytes.Length;
    }

    private void Client()
    {
        var w = Output;
        var sub = _request[1];
        if (Ascii.EqualsIgnoreCase(sub, "setname"u8) || Ascii.EqualsIgnoreCase(sub, "setinfo"u8))
            w.SimpleString("OK"u8);
        else if (Ascii.EqualsIgnoreCase(sub, "getname"u8))
            w.NullBulk();
        else if (Ascii.EqualsIgnoreCase(sub, "id"u8))
            w.Integer(Id);
        else
            UnknownSubcommand("CLIENT"u8);
    }
}
