using Microsoft.Extensions.Logging;

namespace Demi.Hosting;

/// <summary>The hosting layer's log events (source-generated; none is on the per-packet path).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "BackendStarting", Level = LogLevel.Information, Message = "Demi starting: backend {Backend}, {Shards} shard(s) on cores {Cores}")]
    public static partial void BackendStarting(ILogger logger, string backend, int shards, string cores);

    [LoggerMessage(EventId = 2, EventName = "BackendStarted", Level = LogLevel.Information, Message = "Demi started: backend {Backend}, {Buffers} buffers in the pool")]
    public static partial void BackendStarted(ILogger logger, string backend, int buffers);

    [LoggerMessage(EventId = 3, EventName = "BackendStartFailed", Level = LogLevel.Critical, Message = "Demi could not start backend {Backend}")]
    public static partial void BackendStartFailed(ILogger logger, string backend, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "Draining", Level = LogLevel.Information, Message = "Demi stopping: draining {Descriptors} descriptor(s) with unsent data (at most {Timeout})")]
    public static partial void Draining(ILogger logger, int descriptors, TimeSpan timeout);

    [LoggerMessage(EventId = 5, EventName = "DrainTimedOut", Level = LogLevel.Warning, Message = "Demi stop: {Descriptors} descriptor(s) still held unsent data when the drain time ran out; their data is discarded")]
    public static partial void DrainTimedOut(ILogger logger, int descriptors);

    [LoggerMessage(EventId = 6, EventName = "BackendStopped", Level = LogLevel.Information, Message = "Demi stopped: backend {Backend} after {Elapsed}")]
    public static partial void BackendStopped(ILogger logger, string backend, TimeSpan elapsed);

    [LoggerMessage(EventId = 7, EventName = "ShardFault", Level = LogLevel.Error, Message = "Demi shard {Shard} caught an exception (the shard keeps serving; {Faults} fault(s) so far)")]
    public static partial void ShardFault(ILogger logger, int shard, long faults, Exception exception);

    [LoggerMessage(EventId = 8, EventName = "FramesDropped", Level = LogLevel.Warning, Message = "Demi dropped {Frames} frame(s) in the last {Interval}: {Reasons}")]
    public static partial void FramesDropped(ILogger logger, long frames, TimeSpan interval, string reasons);

    [LoggerMessage(EventId = 9, EventName = "DriverErrors", Level = LogLevel.Error, Message = "Demi driver reported {Errors} error(s) in the last {Interval}: {Reasons}")]
    public static partial void DriverErrors(ILogger logger, long errors, TimeSpan interval, string reasons);
}
