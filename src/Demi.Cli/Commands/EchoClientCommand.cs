using System.CommandLine;
using Demi.Cli.CommandLine;
using Demi.Cli.Echo;

namespace Demi.Cli.Commands;

/// <summary><c>demi echo client</c>: a closed-loop Demi echo client against --server.</summary>
internal sealed class EchoClientCommand : Command
{
    private readonly Option<string> _proto = CliOptions.Choice("--proto", "Protocol", "udp", "udp", "tcp");
    private readonly Option<Ipv4Endpoint> _server = CliOptions.Endpoint("--server", "The echo server", new Ipv4Endpoint(Ipv4Address.Loopback, 7777));
    private readonly EchoOptions _echo = new();
    private readonly LibOSCommandOptions _libOS = new();

    public EchoClientCommand()
        : base("client", "Sends messages to --server and waits for each echo; prints msgs/s and RTT percentiles.")
    {
        Add(_proto);
        Add(_server);
        _echo.AddTo(this);
        _libOS.AddTo(this);
        SetAction(Run);
    }

    private int Run(ParseResult parse)
    {
        var protocol = parse.GetValue(_proto)!;
        var server = parse.GetValue(_server);
        var settings = _echo.Create(parse, protocol);
        using var libOS = new LibOS(_libOS.Create(parse));
        var client = new DemiEchoClient(libOS, settings);
        EchoResult result;
        try
        {
            result = client.Run(server, $"demi ({libOS.Backend.Name})");
        }
        catch (DemiException ex) when (ex.ErrorCode is Errno.ECONNREFUSED or Errno.ETIMEDOUT or Errno.EHOSTUNREACH or Errno.ENETUNREACH)
        {
            throw new UsageException($"--server {server}: cannot connect: {Errno.Name(ex.ErrorCode)} (is `demi echo server --proto {protocol}` running there?)");
        }
        if (client.Replies == 0)
            throw new UsageException($"--server {server}: no echo came back over {protocol} (is `demi echo server --proto {protocol}` running there?)");
        var output = parse.InvocationConfiguration.Output;
        output.WriteLine(EchoResult.Header);
        output.WriteLine(result.Row);
        return result.Messages > 0 ? 0 : 1;
    }
}
