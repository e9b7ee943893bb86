using System.CommandLine;
using System.Runtime.InteropServices;
using Demi.Cli.CommandLine;
using Demi.Cli.Echo;

namespace Demi.Cli.Commands;

/// <summary><c>demi echo server</c>: a Demi echo server until Ctrl+C or SIGTERM.</summary>
internal sealed class EchoServerCommand : Command
{
    private readonly Option<string> _proto = CliOptions.Choice("--proto", "Protocol", "udp", "udp", "tcp");
    private readonly Option<Ipv4Endpoint> _bind = CliOptions.Endpoint("--bind", "Address and port to serve on", new Ipv4Endpoint(Ipv4Address.Loopback, 7777));
    private readonly LibOSCommandOptions _libOS = new();

    public EchoServerCommand()
        : base("server", "Serves echo on --bind until Ctrl+C or SIGTERM, printing the echo rate every second.")
    {
        Add(_proto);
        Add(_bind);
        _libOS.AddTo(this);
        SetAction(Run);
    }

    private int Run(ParseResult parse)
    {
        var protocol = parse.GetValue(_proto)!;
        var bind = parse.GetValue(_bind);
        using var libOS = new LibOS(_libOS.Create(parse));
        using var server = new DemiEchoServer(libOS, protocol);
        try
        {
            server.Start(bind);
        }
        catch (DemiException ex) when (ex.ErrorCode is Errno.EADDRINUSE or Errno.EADDRNOTAVAIL)
        {
            throw new UsageException($"--bind {bind}: cannot serve there: {Errno.Name(ex.ErrorCode)}");
        }
        parse.InvocationConfiguration.Output.WriteLine(
            $"demi echo server ({protocol}, {libOS.Backend.Name} backend) on {server.LocalEndPoint}; Ctrl+C or SIGTERM to stop.");
        using var stop = new ManualResetEventSlim(false);
        // SIGINT and SIGTERM both end the server cleanly, so the libOS detaches XDP programs and frees the UMEM.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        var line = StatusLine.StandardError();
        long last = 0;
        while (!stop.Wait(1000))
        {
            long now = server.Echoed;
            line.Update($"{now,12:N0} echoed  {now - last,10:N0}/s");
            last = now;
        }
        line.Clear();
        return 0;
    }
}
