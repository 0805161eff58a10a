using System.Diagnostics;
using System.IO.Compression;

namespace Rnnx.Tests.Packaging;

/// <summary>
/// The rnnx tool as a user gets it: packed from the built output, installed into a temporary tool path from that
/// folder alone (no network: a nuget.config that lists only the packed folder), and run.
/// </summary>
[TestFixture]
[Category("Packaging")]
public sealed class ToolPackageTests
{
    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Rnnx.sln"))) return d.FullName;
        throw new InvalidOperationException("Rnnx.sln not found above the test folder");
    }

    private static (int Code, string Out) Run(string file, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.That(p.WaitForExit(120_000), $"{file} {string.Join(' ', args)} did not finish");
        return (p.ExitCode, stdout + stderr.Result);
    }

    [Test]
    public void PackInstallRun_UnderThirtyMegabytes()
    {
        string root = RepoRoot();
        string configuration = TestContext.CurrentContext.TestDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        string temp = Path.Combine(Path.GetTempPath(), "rnnx-pack-test", Guid.NewGuid().ToString("N"));
        string packed = Path.Combine(temp, "artifacts"), tools = Path.Combine(temp, "tools");
        Directory.CreateDirectory(packed);
        try
        {
            var sw = Stopwatch.StartNew();
            var pack = Run("dotnet", root, "pack", Path.Combine(root, "Rnnx.Cli", "Rnnx.Cli.csproj"), "-c", configuration, "--no-build", "--no-restore", "-o", packed, "-nologo", "-v", "quiet");
            Assert.That(pack.Code, Is.EqualTo(0), pack.Out);
            string nupkg = Directory.GetFiles(packed, "rnnx.*.nupkg").Single(f => !f.EndsWith(".snupkg", StringComparison.Ordinal));
            Assert.That(new FileInfo(nupkg).Length, Is.LessThan(30L << 20), "the tool package stays under 30 MB");
            using (var zip = ZipFile.OpenRead(nupkg))
            {
                var natives = zip.Entries.Where(e => e.FullName.Contains("/runtimes/", StringComparison.Ordinal))
                    .Select(e => e.FullName.Split("/runtimes/")[1].Split('/')[0]).Distinct().Order().ToArray();
                Assert.That(natives, Is.EqualTo(new[] { "linux-x64", "osx", "win-x64" }), "native libraries only for the supported platforms");
                Assert.That(zip.Entries.Select(e => e.FullName), Does.Contain("README.md"));
            }

            string config = Path.Combine(temp, "nuget.config");
            File.WriteAllText(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="packed" value="{packed}" />
                  </packageSources>
                </configuration>
                """);
            var install = Run("dotnet", temp, "tool", "install", "rnnx", "--tool-path", tools, "--configfile", config);
            Assert.That(install.Code, Is.EqualTo(0), install.Out);

            string rnnx = Path.Combine(tools, OperatingSystem.IsWindows() ? "rnnx.exe" : "rnnx");
            var help = Run(rnnx, temp, "--help");
            Assert.That(help.Code, Is.EqualTo(0), help.Out);
            Assert.That(help.Out, Does.Contain("Usage:").And.Contain("rnnx [command] [options]").And.Contain("chapter").And.Contain("train"));
            var bad = Run(rnnx, temp, "train", "--window", "x");
            Assert.That(bad.Code, Is.EqualTo(2));
            Assert.That(bad.Out.Trim(), Does.StartWith("rnnx: error: ").And.Not.Contain("   at "));
            TestContext.Out.WriteLine($"pack + install + run: {sw.Elapsed.TotalSeconds:F1} s, package {new FileInfo(nupkg).Length / 1e6:F1} MB");
        }
        finally
        {
            try { Directory.Delete(temp, true); } catch (IOException) { }
        }
    }
}
