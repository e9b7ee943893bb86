using System.Text;

namespace Demi.Kv;

/// <summary>The commands the server knows.</summary>
internal enum CommandId : byte
{
    Ping, Echo, Quit, Get, Set, SetNx, SetEx, PSetEx, Incr, Decr, IncrBy, DecrBy, MGet, MSet, Del, Unlink, Exists, Expire, PExpire,
    Ttl, PTtl, Type, LPush, RPush, LPop, RPop, LLen, LRange, DbSize, FlushAll, FlushDb, Command, Hello, Config,
    Info, Client, Select,
}

/// <summary>A command's name (lower case, as Redis names it in errors) and arity (Redis's convention: N exact, -N at least N).</summary>
internal readonly record struct CommandInfo(CommandId Id, byte[] Name, int Arity);

/// <summary>Looks a command name up without allocating (ASCII case-insensitive).</summary>
internal static class CommandTable
{
    private const int GetIndex = 0, SetIndex = 1;

    private static readonly CommandInfo[] Commands =
    [
        new(CommandId.Get, "get"u8.ToArray(), 2),
        new(CommandId.Set, "set"u8.ToArray(), -3),
        new(CommandId.SetNx, "setnx"u8.ToArray(), 3),
        new(CommandId.SetEx, "setex"u8.ToArray(), 4),
        new(CommandId.PSetEx, "psetex"u8.ToArray(), 4),
        new(CommandId.Ping, "ping"u8.ToArray(), -1),
        new(CommandId.Echo, "echo"u8.ToArray(), 2),
        new(CommandId.Quit, "quit"u8.ToArray(), -1),
        new(CommandId.Incr, "incr"u8.ToArray(), 2),
        new(CommandId.Decr, "decr"u8.ToArray(), 2),
        new(CommandId.IncrBy, "incrby"u8.ToArray(), 3),
        new(CommandId.DecrBy, "decrby"u8.ToArray(), 3),
        new(CommandId.MGet, "mget"u8.ToArray(), -2),
        new(CommandId.MSet, "mset"u8.ToArray(), -3),
        new(CommandId.Del, "del"u8.ToArray(), -2),
        new(CommandId.Unlink, "unlink"u8.ToArray(), -2),
        new(CommandId.Exists, "exists"u8.ToArray(), -2),
        new(CommandId.Expire, "expire"u8.ToArray(), -3),
        new(CommandId.PExpire, "pexpire"u8.ToArray(), -3),
        new(CommandId.Ttl, "ttl"u8.ToArray(), 2),
        new(CommandId.PTtl, "pttl"u8.ToArray(), 2),
        new(CommandId.Type, "type"u8.ToArray(), 2),
        new(CommandId.LPush, "lpush"u8.ToArray(), -3),
        new(CommandId.RPush, "rpush"u8.ToArray(), -3),
        new(CommandId.LPop, "lpop"u8.ToArray(), 2),
        new(CommandId.RPop, "rpop"u8.ToArray(), 2),
        new(CommandId.LLen, "llen"u8.ToArray(), 2),
        new(CommandId.LRange, "lrange"u8.ToArray(), 4),
        new(CommandId.DbSize, "dbsize"u8.ToArray(), 1),
        new(CommandId.FlushAll, "flushall"u8.ToArray(), -1),
        new(CommandId.FlushDb, "flushdb"u8.ToArray(), -1),
        new(CommandId.Command, "command"u8.ToArray(), -1),
        new(CommandId.Hello, "hello"u8.ToArray(), -1),
        new(CommandId.Config, "config"u8.ToArray(), -2),
        new(CommandId.Info, "info"u8.ToArray(), -1),
        new(CommandId.Client, "client"u8.ToArray(), -2),
        new(CommandId.Select, "select"u8.ToArray(), 2),
    ];

    public static bool TryFind(ReadOnlySpan<byte> name, out CommandInfo info)
    {
        // GET and SET are nearly every request of a cache's load: decided with one compare each, no
        // call. OR-ing 0x20 folds exactly 'G'/'g' onto 'g' (and so on), since every letter of both
        // names has that bit set in lower case.
        if (name.Length == 3)
        {
            int folded = (name[0] | 0x20) << 16 | (name[1] | 0x20) << 8 | (name[2] | 0x20);
            if (folded == ('g' << 16 | 'e' << 8 | 't'))
            {
                info = Commands[GetIndex];
                return true;
            }
            if (folded == ('s' << 16 | 'e' << 8 | 't'))
            {
                info = Commands[SetIndex];
                return true;
            }
        }
        foreach (var c in Commands)
        {
            if (c.Name.Length == name.Length && Ascii.EqualsIgnoreCase(name, c.Name))
            {
                info = c;
                return true;
            }
        }
        info = default;
        return false;
    }

    public static int Count => Commands.Length;

    public static bool ArityOk(in CommandInfo info, int argc) => info.Arity >= 0 ? argc == info.Arity : argc >= -info.Arity;
}
