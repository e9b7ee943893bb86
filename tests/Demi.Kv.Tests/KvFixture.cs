using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Demi.Runtime;

namespace Demi.Kv.Tests;

/// <summary>A Demi-KV server on the kernel backend over 127.0.0.1 (port chosen by the kernel).</summary>
public sealed class KvHost : IDisposable
{
    public KvHost(int shards = 1, KvServerOptions? options = null, IdleStrategy? idle = null)
    {
        LibOS = new LibOS(new LibOSOptions { ShardCount = shards, ShardIdle = idle ?? IdleStrategy.SpinThenPark });
        options ??= new KvServerOptions();
        options.Bind = new Ipv4Endpoint(Ipv4Address.Loopback, 0);
        Server = new KvServer(LibOS, options);
        Server.Start();
    }

    public LibOS LibOS { get; }

    public KvServer Server { get; }

    public int Port => Server.LocalEndPoint.Port;

    public void Dispose()
    {
        Server.Dispose();
        LibOS.Dispose();
    }
}

/// <summary>A raw RESP client on a plain socket: sends bytes, reads whole replies back as text.</summary>
public sealed class RawClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly List<byte> _pending = [];

    public RawClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect("127.0.0.1", port);
        _socket.ReceiveTimeout = 10_000;
        _stream = new NetworkStream(_socket);
    }

    public Socket Socket => _socket;

    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    public void Send(byte[] bytes) => _stream.Write(bytes);

    /// <summary>A command as a RESP array of bulk strings.</summary>
    public static byte[] Command(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args)
            sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Sends a command and returns its raw reply.</summary>
    public string Call(params string[] args)
    {
        Send(Command(args));
        return ReadReply();
    }

    /// <summary>Reads one complete RESP reply (nested arrays included) as its raw text.</summary>
    public string ReadReply()
    {
        while (true)
        {
            int pos = 0;
            if (TryReply(ref pos))
            {
                var text = Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(_pending)[..pos]);
                _pending.RemoveRange(0, pos);
                return text;
            }
            Fill();
        }
    }

    /// <summary>Reads one reply keeping every byte as one char (binary values).</summary>
    public string ReadReplyLatin1()
    {
        while (true)
        {
            int pos = 0;
            if (TryReply(ref pos))
            {
                var text = Encoding.Latin1.GetString(CollectionsMarshal.AsSpan(_pending)[..pos]);
                _pending.RemoveRange(0, pos);
                return text;
            }
            Fill();
        }
    }

    private void Fill()
    {
        var buffer = new byte[1 << 20];
        int n = _stream.Read(buffer);
        if (n == 0)
            throw new EndOfStreamException($"server closed the connection; {_pending.Count} bytes pending");
        _pending.AddRange(buffer.AsSpan(0, n));
    }

    /// <summary>True when the server has closed the connection (reads EOF within the timeout).</summary>
    public bool ReadsEndOfStream()
    {
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                int n = _stream.Read(buffer);
                if (n == 0)
                    return true;
            }
        }
        catch (IOException)
        {
            return true; // reset counts as closed
        }
    }

    private bool TryReply(ref int pos)
    {
        int line = IndexOfCrlf(pos);
        if (line < 0)
            return false;
        char type = (char)_pending[pos];
        string header = Encoding.ASCII.GetString(CollectionsMarshal.AsSpan(_pending).Slice(pos + 1, line - pos - 1));
        pos = line + 2;
        switch (type)
        {
            case '+':
            case '-':
            case ':':
                return true;
            case '$':
                long len = long.Parse(header);
                if (len < 0)
                    return true;
                if (_pending.Count < pos + len + 2)
                    return false;
                pos += (int)len + 2;
                return true;
            case '*':
                long count = long.Parse(header);
                for (long i = 0; i < count; i++)
                {
                    if (!TryReply(ref pos))
                        return false;
                }
                return true;
            default:
                throw new InvalidDataException($"not a RESP reply: {type}");
        }
    }

    private int IndexOfCrlf(int from)
    {
        int at = CollectionsMarshal.AsSpan(_pending)[from..].IndexOf("\r\n"u8);
        return at < 0 ? -1 : from + at;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }
}
