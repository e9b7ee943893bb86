using Demi.Fuzz;

namespace Demi.Fuzz.Tests;

/// <summary>
/// Every input of the fuzzing corpus (fuzz/corpus/TARGET) and every crash found so far
/// (fuzz/regressions/TARGET) runs through its harness, uninstrumented, as a regression test: the
/// harness throws when an input breaks an invariant. fuzz/run.sh does the coverage-guided runs.
/// </summary>
public sealed class CorpusReplayTests
{
    private static readonly string FuzzRoot = FindFuzzRoot();

    private static string FindFuzzRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "fuzz", "corpus");
            if (Directory.Exists(candidate))
                return Path.Combine(dir.FullName, "fuzz");
        }
        throw new DirectoryNotFoundException("fuzz/corpus not found above " + AppContext.BaseDirectory);
    }

    public static TheoryData<string> Targets
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in FuzzTargets.Names)
                data.Add(name);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void CorpusAndRegressionsPass(string target)
    {
        var files = new[] { "corpus", "regressions" }
            .Select(kind => Path.Combine(FuzzRoot, kind, target))
            .Where(Directory.Exists)
            .SelectMany(Directory.GetFiles)
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(files); // every target has seeds
        Assert.True(FuzzTargets.TryGet(target, out var run));
        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetRelativePath(FuzzRoot, file)}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Count} inputs failed:\n{string.Join("\n", failures.Take(20))}");
    }

    [Fact]
    public void EveryTargetHasASeedCorpusFolder()
    {
        foreach (var name in FuzzTargets.Names)
            Assert.True(Directory.Exists(Path.Combine(FuzzRoot, "corpus", name)), $"fuzz/corpus/{name} is missing");
    }
}
