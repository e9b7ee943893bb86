using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Demi.Micro;

/// <summary>
/// The short job every micro-benchmark class of this project uses, so that the whole set runs in a
/// few minutes: one launch, 3 warm-up and 5 measured iterations, in process (no per-benchmark project
/// build; the process's CPU affinity, e.g. <c>taskset -c 1</c>, applies to the measured code).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class MicroConfigAttribute : Attribute, IConfigSource
{
    /// <summary>The job, as a config BenchmarkDotNet merges with the command line's.</summary>
    public IConfig Config { get; } = ManualConfig.CreateEmpty().AddJob(
        Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5)
            .WithToolchain(InProcessEmitToolchain.Instance).WithId("micro"));
}
