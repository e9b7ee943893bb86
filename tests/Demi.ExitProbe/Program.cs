// A C# app that pushes N bytes on a TCP connection and exits as soon as its push completed, without
// disposing the libOS: by returning from Main, or by Environment.Exit. The peer must still read all N
// bytes, then end of stream (LibOSOptions.DisposeOnProcessExit drains the connection at exit).
//
//   demi-exit-probe kernel <ip:port> <bytes> return|exit
//   demi-exit-probe xdp <ip:port> <bytes> return|exit <interface> <local-ip>
//
// Prints "pushed <bytes>" once the push completed, then exits (code 0), or a reason on stderr (code 1).
//
//   demi-exit-probe veth
//
// Builds a VethNamespaces pair, prints "veth <namespace-a> <namespace-b>" and waits (60 s at most) to
// be killed by a signal: the namespaces must not outlive it.
using Demi;
using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Transport.Xdp;

if (args is ["veth"])
{
    var net = VethNamespaces.Create();
    Console.Out.WriteLine($"veth {net.NamespaceA} {net.NamespaceB}");
    Console.Out.Flush();
    Thread.Sleep(TimeSpan.FromSeconds(60));
    net.Dispose();
    return 3; // not signalled
}
if (args.Length < 4 || (args[0] == "xdp" && args.Length < 6))
{
    Console.Error.WriteLine("usage: demi-exit-probe kernel|xdp <ip:port> <bytes> return|exit [<interface> <local-ip>]");
    return 2;
}
var timeout = TimeSpan.FromSeconds(20);
var remote = Ipv4Endpoint.Parse(args[1]);
int bytes = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
bool viaEnvironmentExit = args[3] == "exit";
var options = new LibOSOptions { ShardCount = 1 };
if (args[0] == "xdp")
{
    XdpBackend? backend = null;
    // The previous run's socket may still hold the queue for a moment after its process ended (EBUSY).
    for (int attempt = 1; backend is null; attempt++)
    {
        try
        {
            backend = XdpBackend.Create(
                new XdpQueueOptions { Interface = args[4] },
                new InetStackOptions { LocalAddress = Ipv4Address.Parse(args[5]), PrefixLength = 24 });
        }
        catch (XdpException e) when (e.Errno == Errno.EBUSY && attempt < 40)
        {
            Thread.Sleep(50);
        }
    }
    backend.StreamTransport = new TcpTransport();
    options.Backend = backend;
}
var libOS = new LibOS(options); // never disposed: the process exit must drain it

int Fail(string what, int err)
{
    Console.Error.WriteLine($"demi-exit-probe: {what}: {Errno.Name(err)}");
    return 1;
}

int qd = -1;
QResult connected = default;
// The peer may still be starting: retry a refused connect for a while.
for (var deadline = DateTime.UtcNow + timeout; ;)
{
    int err = libOS.Socket(out qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0);
    if (err != 0)
        return Fail("socket", err);
    if ((err = libOS.Connect(out ulong connectQt, qd, remote)) != 0)
        return Fail("connect", err);
    if ((err = libOS.Wait(out connected, connectQt, timeout)) != 0)
        return Fail("connect wait", err);
    if (!connected.Failed)
        break;
    libOS.Close(qd);
    if (connected.Error != Errno.ECONNREFUSED || DateTime.UtcNow >= deadline)
        return Fail("connect", connected.Error);
    Thread.Sleep(50);
}
var sga = libOS.SgaAlloc(bytes);
for (int i = 0; i < bytes; i++)
    sga.Span[i] = (byte)(i * 7 + 1);
int rc = libOS.Push(out ulong pushQt, qd, sga);
if (rc != 0)
    return Fail("push", rc);
if ((rc = libOS.Wait(out var pushed, pushQt, timeout)) != 0)
    return Fail("push wait", rc);
if (pushed.Failed)
    return Fail("push", pushed.Error);
Console.Out.WriteLine($"pushed {bytes}");
Console.Out.Flush();
if (viaEnvironmentExit)
    Environment.Exit(0);
return 0; // no Dispose, no Close
