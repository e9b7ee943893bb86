namespace Demi.Native.Tests;

/// <summary>Locations in the repository, found from the test assembly's folder upwards.</summary>
internal static class Paths
{
    public static string Root { get; } = FindRoot();

    public static string Include => Path.Combine(Root, "src", "Demi.Native", "include", "demi");

    public static string RunScript => Path.Combine(Root, "tests", "c", "run.sh");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Demi.sln")))
                return dir.FullName;
        }
        // Artifacts may live outside the tree (DEMI_ARTIFACTS): fall back to the source file's location.
        return Path.GetFullPath(Path.Combine(ThisDirectory(), "..", ".."));
    }

    private static string ThisDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
