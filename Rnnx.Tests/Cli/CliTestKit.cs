using System.Diagnostics;
using System.Globalization;

namespace Rnnx.Tests.Cli;

/// <summary>Running the CLI in-process, making small CSV files, and proving that a refused run touched no file.</summary>
internal sealed class CliTestKit : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "rnnx-cli-kit", Guid.NewGuid().ToString("N"));

    public CliTestKit() => Directory.CreateDirectory(Dir);

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public string P(string name) => Path.Combine(Dir, name);

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Rnnx.Cli.Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A seasonal series with noise: "date,value,other" rows, dates daily from 2024-01-01.</summary>
    public string Csv(string name, int rows, Func<int, string>? valueAt = null, int seed = 5)
    {
        var rng = new System.Random(seed);
        var lines = new List<string> { "date,value,other" };
        for (int i = 0; i < rows; i++)
        {
            string v = valueAt?.Invoke(i) ?? (100 + 10 * Math.Sin(i * 0.3) + rng.NextDouble()).ToString("R", CultureInfo.InvariantCulture);
            lines.Add($"{new DateTime(2024, 1, 1).AddDays(i):yyyy-MM-dd},{v},{i % 7}");
        }
        string path = P(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Every entry under the folder with its kind and, for regular files, a hash of the bytes and the time stamp.</summary>
    public Dictionary<string, string> Snapshot()
    {
        var d = new Dictionary<string, string>();
        foreach (var e in new DirectoryInfo(Dir).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            string kind = e.LinkTarget is { } t ? "link->" + t : e is DirectoryInfo ? "dir" : "file";
            // A folder's time stamp changes when the write probe comes and goes: only its presence is compared.
            string content = kind == "file" && IsRegular(e.FullName)
                ? $"{e.LastWriteTimeUtc.Ticks}|{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(e.FullName)))}"
                : "";
            d[Path.GetRelativePath(Dir, e.FullName)] = $"{kind}|{content}";
        }
        return d;
    }

    private static bool IsRegular(string path) => Rnnx.Cli.FileStat.Of(path, followLinks: false).Kind == Rnnx.Cli.FileKind.Regular;

    /// <summary>Asserts a one-line error with the exit code, and that no file changed.</summary>
    public void AssertRefused((int Code, string Out, string Err) r, string expected, Dictionary<string, string> before, int exitCode = 2)
    {
        AssertOneLineError(r.Code, r.Err, expected);
        Assert.That(r.Code, Is.EqualTo(exitCode), r.Err);
        Assert.That(Snapshot(), Is.EquivalentTo(before), "a refused run changed a file");
    }

    public static void AssertOneLineError(int code, string stderr, string expected)
    {
        Assert.That(code, Is.Not.EqualTo(0));
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr);
        Assert.That(lines[0], Does.StartWith("rnnx: error: ").And.Contain(expected));
        Assert.That(stderr, Does.Not.Contain("   at ").And.Not.Contain("Exception"));
    }

    public static void Sh(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(0), $"{file} {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
    }
}
