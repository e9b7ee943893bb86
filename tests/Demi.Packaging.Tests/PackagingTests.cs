using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Xml.Linq;

namespace Demi.Packaging.Tests;

/// <summary>
/// Runs <c>dotnet pack</c> (no-build: the solution is built Release first) into a temporary folder
/// once, then checks what a .NET team would take: metadata, the native package's layout, the
/// <c>demi</c> tool installed from that folder and its <c>demi doctor</c>.
/// </summary>
public sealed class PackedFixture : IDisposable
{
    public static readonly string[] Libraries = ["Demi.Actors", "Demi.Inet", "Demi.Transport.Xdp", "Demi.Cli", "Demi.Native", "Demi.Hosting", "Demi.Orleans"];

    public PackedFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), $"demi-pack-{Environment.ProcessId}");
        Directory.CreateDirectory(Root);
        Packages = Path.Combine(Root, "packages");
        foreach (var library in Libraries)
            Log += Dotnet($"pack {Quote(Path.Combine(RepoRoot, "src", library, library + ".csproj"))} -c Release --no-build -o {Quote(Packages)}", TimeSpan.FromMinutes(4));
    }

    public string Root { get; }

    public string Packages { get; }

    public string Log { get; } = "";

    public static string RepoRoot { get; } = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", ".."));

    public string Package(string id) => Path.Combine(Packages, $"{id}.0.1.0.nupkg");

    public static string Dotnet(string arguments, TimeSpan timeout) => Run("dotnet", arguments, timeout);

    public static string Run(string file, string arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoRoot,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} did not finish in {timeout}");
        }
        string output = stdout.Result + stderr.Result;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments} exited {process.ExitCode}:\n{output}");
        return output;
    }

    public static string Quote(string path) => $"\"{path}\"";

    private static string ThisFile([CallerFilePath] string path = "") => path;

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class PackagingTests(PackedFixture packed) : IClassFixture<PackedFixture>
{
    [Theory]
    [MemberData(nameof(Libraries))]
    public void EveryLibraryPackage_HasRealMetadata(string id)
    {
        using var zip = ZipFile.OpenRead(packed.Package(id));
        var metadata = ReadNuspec(zip).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
        Assert.Equal(id, Field("id"));
        Assert.True(Field("description").Length > 40, $"{id}: description '{Field("description")}'");
        Assert.DoesNotContain("Package Description", Field("description"));
        var license = metadata.Elements().Single(e => e.Name.LocalName == "license");
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);
        Assert.Equal("README.md", Field("readme"));
        Assert.NotNull(zip.GetEntry("README.md"));
        Assert.True(zip.GetEntry("README.md")!.Length > 200);
        var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
    }

    [Fact]
    public void NativePackage_CarriesLibDemiAndHeadersInItsRuntimeFolder()
    {
        using var zip = ZipFile.OpenRead(packed.Package("Demi.Native"));
        var so = zip.GetEntry("runtimes/linux-x64/native/libdemi.so");
        Assert.NotNull(so);
        using (var stream = so!.Open())
        {
            var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            var image = bytes.ToArray();
            Assert.Equal("\u007fELF"u8.ToArray(), image[..4]);
            Assert.True(IndexOf(image, "demi_pushto\0"u8) > 0, "libdemi.so exports no demi_pushto");
        }
        foreach (var header in new[] { "libos.h", "types.h", "sga.h", "wait.h" })
            Assert.NotNull(zip.GetEntry($"runtimes/linux-x64/native/include/demi/{header}"));
        Assert.DoesNotContain(zip.Entries, e => e.FullName.StartsWith("lib/", StringComparison.Ordinal)); // no managed assembly
    }

    [Fact]
    public void DemiTool_InstallsFromTheFolder_AndDoctorRuns()
    {
        // Only the local folder as a source: the install must not need anything else.
        string config = Path.Combine(packed.Root, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="local" value="{packed.Packages}" /></packageSources>
            </configuration>
            """);
        string tools = Path.Combine(packed.Root, "tools");
        PackedFixture.Dotnet($"tool install Demi.Cli --tool-path {PackedFixture.Quote(tools)} --configfile {PackedFixture.Quote(config)}", TimeSpan.FromMinutes(2));
        string doctor = PackedFixture.Run(Path.Combine(tools, "demi"), "doctor", TimeSpan.FromMinutes(1));
        Assert.Matches(@"(?m)^kernel\s+available", doctor);
        Assert.Contains("xdp", doctor);
    }

    [Fact]
    public void TestPerfAndSampleProjects_AreNotPacked()
    {
        string output = Path.Combine(packed.Root, "not-packed");
        foreach (var project in Directory.GetFiles(Path.Combine(PackedFixture.RepoRoot, "perf"), "*.csproj", SearchOption.AllDirectories)
                     .Append(Path.Combine(PackedFixture.RepoRoot, "tests", "Demi.Actors.Tests", "Demi.Actors.Tests.csproj")))
        {
            PackedFixture.Dotnet($"pack {PackedFixture.Quote(project)} -c Release --no-build -o {PackedFixture.Quote(output)}", TimeSpan.FromMinutes(2));
        }
        Assert.False(Directory.Exists(output) && Directory.EnumerateFiles(output, "*.nupkg").Any());
    }

    public static TheoryData<string> Libraries() => new(PackedFixture.Libraries);

    private static XDocument ReadNuspec(ZipArchive zip)
    {
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);
}
