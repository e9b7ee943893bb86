using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Demi;
using Demi.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

return await TelemetryProgram.RunAsync(args, Console.Out);

/// <summary>
/// <c>dotnet run --project samples/Demi.Telemetry -- demo</c>: starts the service (an Orleans silo with
/// Demi on kernel sockets over 127.0.0.1), sends synthetic telemetry from a kernel UDP socket, queries
/// the aggregates over TCP and prints them. <c>serve [--udp A:P] [--tcp A:P]</c> runs the service alone.
/// </summary>
public static class TelemetryProgram
{
    public static readonly string[] Sensors = ["boiler", "fan", "pump"];

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        string mode = args.FirstOrDefault() ?? "demo";
        var options = new TelemetryOptions();
        if (mode == "demo")
        {
            options.Udp = new Ipv4Endpoint(Ipv4Address.Loopback, 0);
            options.Tcp = new Ipv4Endpoint(Ipv4Address.Loopback, 0);
        }
        for (int i = 1; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--udp": options.Udp = Ipv4Endpoint.Parse(args[i + 1]); break;
                case "--tcp": options.Tcp = Ipv4Endpoint.Parse(args[i + 1]); break;
                default: output.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }
        using var host = BuildHost(options, quiet: mode == "demo");
        await host.StartAsync();
        var pipeline = host.Services.GetServices<IHostedService>().OfType<TelemetryPipeline>().Single();
        if (mode == "serve")
        {
            output.WriteLine($"telemetry: send 'sensor value' datagrams to {pipeline.UdpEndPoint}; query with 'GET sensor' on TCP {pipeline.TcpEndPoint}");
            await host.WaitForShutdownAsync();
            return 0;
        }
        int result = await DemoAsync(pipeline, output);
        await host.StopAsync();
        return result;
    }

    private static IHost BuildHost(TelemetryOptions options, bool quiet)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddSimpleConsole().SetMinimumLevel(quiet ? LogLevel.Warning : LogLevel.Information);
        int siloPort = FreeTcpPort(), gatewayPort = FreeTcpPort();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort, gatewayPort)
            .UseDemi(o => o.Backend = "kernel"));
        builder.Services.AddSingleton(options);
        builder.Services.AddHostedService<TelemetryPipeline>();
        return builder.Build();
    }

    // Readings: per sensor i, values i*10 + (k % 5) for k = 0..N-1, sent in batches that the service
    // has parsed before the next goes out (the kernel's UDP buffer is small; telemetry would just lose some).
    private static async Task<int> DemoAsync(TelemetryPipeline pipeline, TextWriter output)
    {
        const int PerSensor = 1000;
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var target = pipeline.UdpEndPoint.ToIPEndPoint();
        for (int k = 0; k < PerSensor; k++)
        {
            for (int i = 0; i < Sensors.Length; i++)
                udp.SendTo(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Sensors[i]} {i * 10 + k % 5}")), target);
            if (k % 20 == 19)
            {
                long sent = (k + 1L) * Sensors.Length;
                for (int wait = 0; pipeline.Parsed < sent && wait < 2000; wait++)
                    await Task.Delay(1);
            }
        }
        udp.SendTo("not telemetry"u8.ToArray(), target); // malformed: counted, not aggregated

        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcp.ConnectAsync(pipeline.TcpEndPoint.ToIPEndPoint());
        var reader = new StreamReader(new NetworkStream(tcp), Encoding.ASCII);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var lines = new string[Sensors.Length];
        while (true)
        {
            for (int i = 0; i < Sensors.Length; i++)
            {
                await tcp.SendAsync(Encoding.ASCII.GetBytes($"GET {Sensors[i]}\n"));
                lines[i] = await reader.ReadLineAsync() ?? "";
            }
            if (lines.All(l => l.Contains($"count={PerSensor} ")) || DateTime.UtcNow > deadline)
                break;
            await Task.Delay(100); // the last window closes every TelemetryOptions.Window
        }
        foreach (var line in lines)
            output.WriteLine(line);
        output.WriteLine($"parsed={pipeline.Parsed} malformed={pipeline.Malformed} windows={pipeline.WindowsSent}");
        return lines.All(l => l.Contains($"count={PerSensor} ")) ? 0 : 1;
    }

    private static int FreeTcpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
