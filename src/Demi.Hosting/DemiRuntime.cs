using System.Diagnostics;
using Demi.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Demi.Hosting;

/// <summary>
/// The hosted libOS: created when the host starts (<see cref="StartAsync"/>), drained and disposed
/// when it stops (<see cref="StopAsync"/>). Resolve it (or <see cref="Demi.LibOS"/> itself) from
/// the container; using the libOS before the host has started is an <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class DemiRuntime : IDisposable
{
    private readonly IOptions<DemiOptions> _options;
    private readonly IEnumerable<IDemiBackendProvider> _providers;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private LibOS? _libOS;
    private IDemiBackendProvider? _provider;
    private Timer? _summaryTimer;
    private Dictionary<string, long> _lastDrops = new();
    private Dictionary<string, long> _lastDriverErrors = new();
    private long _started;

    /// <summary>Created by the container (see <c>AddDemi</c>).</summary>
    public DemiRuntime(IOptions<DemiOptions> options, IEnumerable<IDemiBackendProvider> providers, IServiceProvider services, ILogger<DemiRuntime> logger)
    {
        _options = options;
        _providers = providers;
        _services = services;
        _logger = logger;
    }

    /// <summary>The running libOS.</summary>
    /// <exception cref="InvalidOperationException">The host has not started (or has stopped).</exception>
    public LibOS LibOS => Volatile.Read(ref _libOS) ?? throw new InvalidOperationException(
        "Demi's libOS runs while the host runs: start the host (IHost.StartAsync) before using it, and do not use it after the host stopped.");

    /// <summary>True between start and stop.</summary>
    public bool IsRunning => Volatile.Read(ref _libOS) is not null;

    /// <summary>The backend provider in use (null before start).</summary>
    public IDemiBackendProvider? Provider => _provider;

    /// <summary>The options in force.</summary>
    public DemiOptions Options => _options.Value;

    internal LibOS? LibOSIfRunning => Volatile.Read(ref _libOS);

    /// <summary>Creates the backend and the libOS. Called by the host (the hosted service); idempotent.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_libOS is not null)
                return Task.CompletedTask;
            var options = _options.Value; // validated by the host before hosted services start
            var provider = _providers.Last(p => string.Equals(p.Name, options.Backend, StringComparison.OrdinalIgnoreCase));
            int shards = options.Cores is { } cores ? CpuSet.Parse(cores).Length : options.ShardCount;
            Log.BackendStarting(_logger, provider.Name, shards, options.Cores ?? "any");
            INetworkBackend? backend = null;
            try
            {
                backend = provider.Create(options, shards, _services);
                var libOS = new LibOS(options.ToLibOSOptions(backend));
                libOS.ShardFault += OnShardFault;
                _provider = provider;
                _lastDrops = DemiStatistics.Drops(libOS, provider);
                _lastDriverErrors = new Dictionary<string, long>(provider.DriverErrors(backend));
                Volatile.Write(ref _libOS, libOS);
            }
            catch (Exception e)
            {
                backend?.Dispose();
                Log.BackendStartFailed(_logger, provider.Name, e);
                throw;
            }
            _started = Stopwatch.GetTimestamp();
            _summaryTimer = new Timer(_ => LogSummaries(), null, options.DropSummaryInterval, options.DropSummaryInterval);
            Log.BackendStarted(_logger, provider.Name, _libOS.Buffers.Pool.Count);
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Waits until pushed data has left (bounded by <see cref="DemiOptions.DrainTimeout"/> and
    /// <paramref name="cancellationToken"/>, the host's shutdown timeout), then disposes the libOS.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var libOS = Volatile.Read(ref _libOS);
        if (libOS is null)
            return;
        using var drainTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drainTimeout.CancelAfter(_options.Value.DrainTimeout);
        int unsent = libOS.UnsentDescriptors();
        if (unsent > 0)
        {
            Log.Draining(_logger, unsent, _options.Value.DrainTimeout);
            if (!await libOS.DrainAsync(drainTimeout.Token).ConfigureAwait(false))
                Log.DrainTimedOut(_logger, libOS.UnsentDescriptors());
        }
        Shutdown();
    }

    private void Shutdown()
    {
        LibOS? libOS;
        lock (_gate)
        {
            libOS = _libOS;
            if (libOS is null)
                return;
            _summaryTimer?.Dispose();
            _summaryTimer = null;
            LogSummaries(libOS);
            Volatile.Write(ref _libOS, null);
        }
        libOS.Dispose();
        libOS.ShardFault -= OnShardFault;
        Log.BackendStopped(_logger, _provider!.Name, Stopwatch.GetElapsedTime(_started));
    }

    private void OnShardFault(Shard shard, Exception exception)
        => Log.ShardFault(_logger, shard.Id, shard.LibOS.ShardFaults, exception);

    private void LogSummaries()
    {
        var libOS = Volatile.Read(ref _libOS);
        if (libOS is not null)
            LogSummaries(libOS);
    }

    // One line per interval at most for drops and one for driver errors, only when they moved.
    private void LogSummaries(LibOS libOS)
    {
        lock (_summaryGate)
        {
            var interval = _options.Value.DropSummaryInterval;
            var driver = new Dictionary<string, long>(_provider!.DriverErrors(libOS.Backend));
            var drops = DemiStatistics.Drops(libOS, _provider);
            foreach (var (reason, n) in driver)
                drops[reason] = drops.GetValueOrDefault(reason) - n; // the driver's have their own line
            if (Moved(drops, _lastDrops) is { } dropped)
                Log.FramesDropped(_logger, dropped.Total, interval, dropped.Text);
            if (Moved(driver, _lastDriverErrors) is { } errors)
                Log.DriverErrors(_logger, errors.Total, interval, errors.Text);
            _lastDrops = drops;
            _lastDriverErrors = driver;
        }
    }

    private readonly object _summaryGate = new();

    private static (long Total, string Text)? Moved(Dictionary<string, long> now, Dictionary<string, long> last)
    {
        var moved = now.Select(kv => (kv.Key, Delta: kv.Value - last.GetValueOrDefault(kv.Key)))
            .Where(d => d.Delta > 0).OrderByDescending(d => d.Delta).ToArray();
        return moved.Length == 0 ? null : (moved.Sum(d => d.Delta), string.Join(", ", moved.Select(d => $"{d.Key}={d.Delta}")));
    }

    /// <summary>Disposes the libOS without draining (the container calls it; a stopped host has drained already).</summary>
    public void Dispose() => Shutdown();
}
