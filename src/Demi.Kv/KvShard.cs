using System.Runtime.InteropServices;
using Demi.Kv.Resp;
using Demi.Runtime;

namespace Demi.Kv;

/// <summary>
/// The server's part on one Demi shard: the keys this shard owns, the connections whose sockets live
/// here, and an inbox (a Demi memory queue owned by this shard) through which the other shards send
/// it key operations and it sends back their results. Everything here runs in completion handlers on
/// this shard's thread, so nothing is locked: other shards only ever talk to it by message.
/// </summary>
internal sealed unsafe class KvShard : IDisposable
{
    /// <summary>What an inbox message asks.</summary>
    internal enum MessageKind
    {
        /// <summary>Run the key call (<see cref="InboxMessage.Handle"/>) on the keys here and send it back.</summary>
        Request = 1,
        /// <summary>A key call this shard sent has been run; resume its connection.</summary>
        Reply,
        /// <summary>Once a second: idle clients, active expiry.</summary>
        Tick,
        /// <summary>A connection accepted elsewhere lives on this shard: serve it (<see cref="InboxMessage.Value"/> is its qd).</summary>
        Adopt,
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct InboxMessage
    {
        public MessageKind Kind;
        public int Value;
        public nint Handle;
    }

    private readonly Dictionary<int, KvConnection> _connections = [];
    private readonly ReplyWriter _remoteReplies;

    public KvShard(KvServer server, Shard shard, int inboxQd, long memoryCap)
    {
        Server = server;
        Shard = shard;
        LibOS = shard.LibOS;
        Options = server.Options;
        InboxQd = inboxQd;
        Store = new KvStore(memoryCap);
        _remoteReplies = new ReplyWriter(LibOS, sink: null);
    }

    public KvServer Server { get; }

    public Shard Shard { get; }

    public LibOS LibOS { get; }

    public KvServerOptions Options { get; }

    public int Id => Shard.Id;

    public int InboxQd { get; }

    public KvStore Store { get; }

    public int Connections => _connections.Count;

    /// <summary>Every completion of this shard (subscribed on <see cref="Shard.Completions"/>).</summary>
    public void OnCompletion(QResult result)
    {
        if (result.Qd == InboxQd)
        {
            if (result.Opcode == Opcode.Pop)
            {
                OnInbox(result.Sga);
                LibOS.PostPop(InboxQd);
            }
            // A push into this inbox completes here too: its buffer went to the popper, nothing to free.
            return;
        }
        if (result.Qd == Server.ListenerQd)
        {
            OnAccept(result);
            return;
        }
        if (_connections.TryGetValue(result.Qd, out var connection))
        {
            connection.OnCompletion(result);
            return;
        }
        // A late completion of a connection already closed (its cancelled push or pop).
        if ((result.Opcode == Opcode.Pop || result.Opcode == Opcode.Push || result.Opcode == Opcode.Failed) && result.Sga.IsAllocated)
            LibOS.SgaFree(result.Sga);
    }

    private void OnAccept(in QResult result)
    {
        if (result.Opcode == Opcode.Accept)
        {
            int qd = result.AcceptedQd;
            int owner = LibOS.GetActor(qd)?.Shard.Id ?? Id;
            if (owner == Id)
                Adopt(qd);
            else
                Server.Shards[owner].Post(MessageKind.Adopt, qd, 0);
        }
        else if (result.Opcode == Opcode.Failed && result.Ret == Errno.ECANCELED)
        {
            return; // the listener closed
        }
        // A failed accept (EMFILE, ...) must not stop the server from accepting.
        LibOS.PostAccept(Server.ListenerQd);
    }

    private void Adopt(int qd)
    {
        SetNoDelay(qd);
        bool overLimit = !Server.TryAddClient();
        var connection = new KvConnection(this, qd, Server.NextClientId());
        _connections[qd] = connection;
        connection.Start(overLimit); // over the limit it is only there to be told, and not counted
    }

    private void SetNoDelay(int qd)
    {
        // Replies are flushed once per batch of requests: Nagle would only add delay.
        Span<byte> one = [1, 0, 0, 0];
        LibOS.SetSockOpt(qd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, one);
    }

    /// <summary>A connection is done: uncount it, close its queue and forget it (its call object may not be out at another shard: it is not awaiting).</summary>
    public void Release(KvConnection connection)
    {
        if (_connections.Remove(connection.Qd) && connection.Counted)
            Server.RemoveClient();
        LibOS.Close(connection.Qd);
        connection.Dispose();
    }

    private void OnInbox(in Sga sga)
    {
        var message = *(InboxMessage*)sga.Segment.Buffer;
        LibOS.SgaFree(sga);
        switch (message.Kind)
        {
            case MessageKind.Request:
                RunRemote(KeyCall.FromHandle(message.Handle));
                break;
            case MessageKind.Reply:
                KeyCall.FromHandle(message.Handle).Connection.OnRemoteReply();
                break;
            case MessageKind.Tick:
                OnTick();
                break;
            case MessageKind.Adopt:
                Adopt(message.Value);
                break;
        }
    }

    /// <summary>Runs another shard's key call on the keys here; its reply travels back in one buffer.</summary>
    private void RunRemote(KeyCall call)
    {
        Store.Execute(call, _remoteReplies, Environment.TickCount64);
        if ((call.Flags & KeyFlags.Silent) != 0 && _remoteReplies.Written == 0)
        {
            _remoteReplies.Discard();
            call.Reply = default;
        }
        else
        {
            call.Reply = _remoteReplies.Take(out var start);
            call.ReplyStart = start;
        }
        Server.Shards[call.Connection.ShardId].Post(MessageKind.Reply, 0, call.Handle);
    }

    /// <summary>Sends <paramref name="call"/> to the shard that owns its key.</summary>
    public void SendRequest(int owner, KeyCall call) => Server.Shards[owner].Post(MessageKind.Request, 0, call.Handle);

    /// <summary>Puts a message into this shard's inbox (from any thread).</summary>
    public void Post(MessageKind kind, int value, nint handle)
    {
        // Inbox messages must not be lost (a connection would wait forever): retry while the mailbox is full.
        var spinner = new SpinWait();
        while (true)
        {
            var sga = LibOS.SgaAlloc(sizeof(InboxMessage));
            if (sga.IsAllocated)
            {
                *(InboxMessage*)sga.Segment.Buffer = new InboxMessage { Kind = kind, Value = value, Handle = handle };
                int err = LibOS.PostPush(InboxQd, sga);
                LibOS.SgaFree(sga); // the push holds its own reference, which the popper gets
                if (err == 0)
                    return;
                if (err != Errno.EAGAIN)
                    throw new DemiException(err, $"kv: shard {Id} inbox push failed: {Errno.Name(err)}");
            }
            spinner.SpinOnce();
        }
    }

    private void OnTick()
    {
        long now = Environment.TickCount64;
        Store.Sweep(now);
        long idleMs = (long)Options.IdleTimeout.TotalMilliseconds;
        if (idleMs <= 0)
            return;
        List<KvConnection>? idle = null;
        foreach (var c in _connections.Values)
        {
            if (!c.AwaitingRemote && now - c.LastActivity > idleMs)
                (idle ??= []).Add(c);
        }
        if (idle is null)
            return;
        foreach (var c in idle)
        {
            Server.CountIdleClose();
            c.Abort();
        }
    }

    /// <summary>Closes every connection (server stopping; runs on this shard).</summary>
    public void CloseAll()
    {
        foreach (var c in _connections.Values.ToList())
            c.Abort();
    }

    public void Dispose()
    {
        _remoteReplies.Discard();
        Store.Dispose();
    }
}
