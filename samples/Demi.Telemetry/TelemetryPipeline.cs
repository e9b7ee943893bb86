using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text;
using Demi.Async;
using Demi.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Demi.Telemetry;

/// <summary>A parsed reading: "sensor value" in one datagram.</summary>
public readonly record struct Reading(string Sensor, double Value);

/// <summary>Where the service listens.</summary>
public sealed class TelemetryOptions
{
    public Ipv4Endpoint Udp { get; set; } = new(Ipv4Address.Loopback, 9100);

    public Ipv4Endpoint Tcp { get; set; } = new(Ipv4Address.Loopback, 9101);

    public TimeSpan Window { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// UDP telemetry in through Demi, an Rx pipeline (parse -> window -> group -> aggregate) whose
/// aggregates go to one grain per sensor, and a TCP query port ("GET sensor" -> one summary line).
/// The datagram handler runs on the shard (Rx, zero copy until parse); the windows close on Rx's
/// scheduler and call grains through the grain factory, so grain code never runs on a shard.
/// </summary>
public sealed class TelemetryPipeline(DemiRuntime demi, IGrainFactory grains, TelemetryOptions options, ILogger<TelemetryPipeline> logger) : IHostedService
{
    private readonly Subject<Reading> _readings = new();
    private readonly CancellationTokenSource _stopping = new();
    private DemiUdpSocket? _udp;
    private DemiTcpSocket? _queries;
    private IDisposable? _pipeline, _receive;
    private Task? _serving;
    private long _malformed, _parsed, _windowsSent;

    public long Parsed => Interlocked.Read(ref _parsed);

    public long Malformed => Interlocked.Read(ref _malformed);

    public long WindowsSent => Interlocked.Read(ref _windowsSent);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var libOS = demi.LibOS;
        _udp = DemiUdpSocket.Create(libOS).Bind(options.Udp);
        _queries = DemiTcpSocket.Create(libOS).Bind(options.Tcp).Listen();

        // window -> group -> aggregate -> grain
        _pipeline = _readings
            .Window(options.Window)
            .SelectMany(window => window
                .GroupBy(r => r.Sensor)
                .SelectMany(group => group
                    .Aggregate(new WindowAggregate(0, 0, double.PositiveInfinity, double.NegativeInfinity),
                        (a, r) => new WindowAggregate(a.Count + 1, a.Sum + r.Value, Math.Min(a.Min, r.Value), Math.Max(a.Max, r.Value)))
                    .Select(aggregate => (group.Key, aggregate))))
            .Select(w => Observable.FromAsync(() => grains.GetGrain<ISensorGrain>(w.Key).Add(w.aggregate)))
            .Concat() // one grain call at a time, in window order
            .Subscribe(_ => Interlocked.Increment(ref _windowsSent), e => logger.LogError(e, "telemetry pipeline failed"));

        // parse (on the shard thread, then the buffer goes straight back)
        int qd = _udp.Qd;
        _receive = libOS.CompletionsOf(qd).Subscribe(r =>
        {
            if (r.Opcode != Opcode.Pop)
                return;
            if (TryParse(r.Sga.Span, out var reading))
            {
                Interlocked.Increment(ref _parsed);
                lock (_readings)
                    _readings.OnNext(reading);
            }
            else
            {
                Interlocked.Increment(ref _malformed);
            }
            libOS.SgaFree(r.Sga);
            libOS.PostPop(qd);
        });
        for (int i = 0; i < 8; i++)
            libOS.PostPop(qd);
        _serving = ServeQueriesAsync(_queries, _stopping.Token);
        logger.LogInformation("telemetry: UDP {Udp}, queries on TCP {Tcp}", _udp.LocalEndPoint, _queries.LocalEndPoint);
        return Task.CompletedTask;
    }

    public Ipv4Endpoint UdpEndPoint => _udp!.LocalEndPoint;

    public Ipv4Endpoint TcpEndPoint => _queries!.LocalEndPoint;

    /// <summary>"sensor value" (ASCII); anything else is malformed and counted.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out Reading reading)
    {
        reading = default;
        int space = datagram.IndexOf((byte)' ');
        if (space <= 0 || !double.TryParse(datagram[(space + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value))
            return false;
        reading = new Reading(Encoding.ASCII.GetString(datagram[..space]), value);
        return true;
    }

    private async Task ServeQueriesAsync(DemiTcpSocket listener, CancellationToken cancellationToken)
    {
        var clients = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(cancellationToken);
                clients.Add(ServeClientAsync(connection, cancellationToken));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or DemiException)
        {
        }
        await Task.WhenAll(clients).ConfigureAwait(false);
    }

    private async Task ServeClientAsync(DemiTcpSocket connection, CancellationToken cancellationToken)
    {
        using (connection)
        {
            var pending = new StringBuilder();
            try
            {
                while (true)
                {
                    var data = await connection.PopAsync(cancellationToken);
                    int length = data.Length;
                    pending.Append(Encoding.ASCII.GetString(data.Span));
                    connection.Free(data);
                    if (length == 0)
                        return;
                    string text = pending.ToString();
                    int newline;
                    while ((newline = text.IndexOf('\n')) >= 0)
                    {
                        string line = text[..newline].Trim();
                        text = text[(newline + 1)..];
                        var reply = Encoding.ASCII.GetBytes(await AnswerAsync(line) + "\n");
                        var sga = connection.Allocate(reply);
                        try
                        {
                            await connection.PushAsync(sga, cancellationToken);
                        }
                        finally
                        {
                            connection.Free(sga);
                        }
                    }
                    pending.Clear().Append(text);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or DemiException)
            {
            }
        }
    }

    private async Task<string> AnswerAsync(string line)
    {
        if (!line.StartsWith("GET ", StringComparison.Ordinal))
            return "ERR expected: GET <sensor>";
        var s = await grains.GetGrain<ISensorGrain>(line[4..].Trim()).Summary();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{s.Sensor} count={s.Count} mean={s.Mean:F3} min={s.Min:F3} max={s.Max:F3} windows={s.Windows}");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        _receive?.Dispose();
        _queries?.Dispose();
        if (_serving is not null)
            await _serving.WaitAsync(cancellationToken).ConfigureAwait(false);
        _udp?.Dispose();
        lock (_readings)
            _readings.OnCompleted(); // closes the last window: its aggregates still reach the grains
        _pipeline?.Dispose();
    }
}
