using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using Demi.Async;

namespace Demi.Actors.Tests;

/// <summary>
/// The README's three examples, run exactly as printed: each sits between "README example N" markers
/// below, and <see cref="ReadmeShowsTheseExamples"/> checks the README prints exactly that code.
/// </summary>
[Collection(ConsoleCapture.Name)]
public sealed partial class ReadmeExamplesTests
{
    [Fact]
    public void ErrnoShape()
    {
        var output = ConsoleCapture.Run(() =>
        {
            // README example 1 begin
            using var libOS = new LibOS(new LibOSOptions { Cores = "0" });          // one shard pinned to core 0
            libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0);
            libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Loopback, 0));               // port 0: the libOS picks one
            libOS.GetSockName(qd, out Ipv4Endpoint self);

            var sga = libOS.SgaAlloc(5);                  // pinned buffer with header headroom, exactly 5 bytes
            "hello"u8.CopyTo(sga.Span);
            int err = libOS.PushTo(out ulong qt, qd, sga, self);   // a datagram to ourselves
            if (err != 0) Console.WriteLine(Errno.Name(err));      // EINVAL, EBADF, EAGAIN ... as the man page says
            if (libOS.Wait(out QResult pushed, qt, TimeSpan.FromSeconds(1)) != 0) return; // ETIMEDOUT; null = forever
            libOS.SgaFree(sga);                            // safe even while a push is in flight (ref-counted)

            libOS.Pop(out ulong popQt, qd);
            if (libOS.Wait(out QResult popped, popQt) != 0) return;               // no timeout: waits for the datagram
            if (popped.Opcode == Opcode.Failed) Console.WriteLine(Errno.Name(popped.Ret));
            else { Console.WriteLine($"{popped.Sga.Length} bytes from {popped.Sga.Address}"); libOS.SgaFree(popped.Sga); }
            // README example 1 end

            Assert.Equal(Opcode.Push, pushed.Opcode);
            Assert.Equal(self.Port, popped.Sga.Address.Endpoint.Port);
            Assert.Equal(libOS.Buffers.Pool.Count, libOS.Buffers.Pool.Available); // every buffer given back
        });
        Assert.Matches(@"^5 bytes from 127\.0\.0\.1:\d+\r?\n$", output);
    }

    [Fact]
    public async Task AsyncShape()
    {
        using var libOS = new LibOS();
        using var cts = new CancellationTokenSource(TestUtil.Timeout);
        var cancellationToken = cts.Token;

        // README example 2 begin
        using var listener = DemiTcpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0)).Listen();
        Task serving = EchoOneAsync(listener, cancellationToken);   // clients connect to listener.LocalEndPoint

        static async Task EchoOneAsync(DemiTcpSocket listener, CancellationToken cancellationToken)
        {
            using var connection = await listener.AcceptAsync(cancellationToken);
            while (true)
            {
                Sga data = await connection.PopAsync(cancellationToken);   // zero length = end of stream
                try
                {
                    if (data.Length == 0) return;
                    await connection.PushAsync(data, cancellationToken);   // echo it back, no copy
                }
                finally
                {
                    connection.Free(data);                                  // every popped sga, the last one too
                }
            }
        }
        // README example 2 end

        // A kernel peer: send, read the echo, close (end of stream), and the example must end cleanly.
        using (var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await peer.ConnectAsync(listener.LocalEndPoint.ToIPEndPoint(), cancellationToken);
            var message = Encoding.ASCII.GetBytes("hello, echo");
            await peer.SendAsync(message, cancellationToken);
            var echoed = new byte[message.Length];
            int got = 0;
            while (got < echoed.Length)
                got += await peer.ReceiveAsync(echoed.AsMemory(got), cancellationToken);
            Assert.Equal(message, echoed);
            peer.Shutdown(SocketShutdown.Send);
        }
        await serving.WaitAsync(cancellationToken); // throws if the example threw at end of stream
        Assert.True(SpinWait.SpinUntil(() => libOS.Buffers.Pool.Available == libOS.Buffers.Pool.Count, TestUtil.Timeout),
            "the example leaked a popped buffer");
    }

    [Fact]
    public void RxShape()
    {
        using var libOS = new LibOS();
        int qd = TestUtil.UdpSocket(libOS), client = TestUtil.UdpSocket(libOS);

        // README example 3 begin
        libOS.CompletionsOf(qd).Subscribe(r =>
        {
            if (r.Opcode == Opcode.Pop)
            {
                libOS.PostPushTo(qd, r.Sga, r.Sga.Address.Endpoint);   // echo the datagram, no copy
                libOS.PostPop(qd);
            }
            else if (r.Opcode == Opcode.Push || r.Sga.IsAllocated)
            {
                libOS.SgaFree(r.Sga);                                   // the echoed (or failed) buffer
            }
        });
        libOS.PostPop(qd);
        // README example 3 end

        for (int i = 0; i < 10; i++)
        {
            var sga = TestUtil.Alloc(libOS, $"rx {i}");
            Assert.Equal(0, libOS.Pop(out var popQt, client));
            Assert.Equal(0, libOS.PushTo(out var pushQt, client, sga, TestUtil.LocalOf(libOS, qd)));
            TestUtil.WaitOk(libOS, pushQt);
            var reply = TestUtil.WaitOk(libOS, popQt);
            Assert.Equal($"rx {i}", TestUtil.Text(reply.Sga));
            libOS.SgaFree(reply.Sga);
            libOS.SgaFree(sga);
        }
        // As written, the example gives every buffer back.
        Assert.True(SpinWait.SpinUntil(() => libOS.Buffers.Pool.Available == libOS.Buffers.Pool.Count, TestUtil.Timeout));
    }

    [Fact]
    public void ReadmeShowsTheseExamples()
    {
        string source = File.ReadAllText(ThisFile());
        string readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", "..", "README.md"));
        int shapes = readme.IndexOf("## The API in its three shapes", StringComparison.Ordinal);
        Assert.True(shapes >= 0, "README has no API section");
        var blocks = CodeBlock().Matches(readme[shapes..]).Take(3).Select(m => Normalize(m.Groups[1].Value)).ToArray();
        Assert.Equal(3, blocks.Length);
        for (int i = 1; i <= 3; i++)
        {
            var region = Regex.Match(source, $@"// README example {i} begin\r?\n(.*?)\r?\n\s*// README example {i} end", RegexOptions.Singleline);
            Assert.True(region.Success, $"example {i} markers missing");
            Assert.Equal(blocks[i - 1], Normalize(region.Groups[1].Value));
        }
    }

    // Indentation differs (the test nests the code in a method); everything else must match.
    private static string Normalize(string code)
        => string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    private static string ThisFile([CallerFilePath] string path = "") => path;

    [GeneratedRegex(@"```csharp\r?\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();
}

/// <summary>Tests that redirect <see cref="Console.Out"/> run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCapture
{
    public const string Name = "console";

    public static string Run(Action action)
    {
        var previous = Console.Out;
        var writer = new StringWriter();
        Console.SetOut(writer);
        try
        {
            action();
        }
        finally
        {
            Console.SetOut(previous);
        }
        return writer.ToString();
    }
}
