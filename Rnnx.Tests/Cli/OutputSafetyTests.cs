using System.Diagnostics;

namespace Rnnx.Tests.Cli;

/// <summary>
/// Nothing is ever lost: every output path is checked before any work against every input and every other output
/// (same name, symbolic and hard links, linked folders), never replaces a non-regular file, and inputs must be
/// regular files (a FIFO is refused at once, never opened). Each refusal: one line, exit 2, every file untouched.
/// </summary>
[TestFixture]
public sealed class OutputSafetyTests
{
    private CliTestKit _kit = null!;
    private string _csv = "", _model = "";

    [OneTimeSetUp]
    public void Setup()
    {
        _kit = new CliTestKit();
        _csv = _kit.Csv("d.csv", 80);
        _model = _kit.P("m.rnnx");
        var r = CliTestKit.Run("train", "--csv", _csv, "--column", "value", "--arch", "linear", "--window", "8", "--horizon", "2", "--epochs", "1", "--save", _model);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
    }

    [OneTimeTearDown]
    public void TearDown() => _kit.Dispose();

    private string[] Train(params string[] extra) =>
        ["train", "--csv", _csv, "--column", "value", "--arch", "linear", "--window", "8", "--horizon", "2", "--epochs", "1", .. extra];

    private void Refused(string[] args, string expected)
    {
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run(args), expected, before);
    }

    [Test]
    public void SaveOntoTheCsv_IsRefused() =>
        Refused(Train("--save", _csv), $"--save '{_csv}' is the same file as the input --csv");

    [Test]
    public void OnnxOntoTheModel_IsRefused() =>
        Refused(["export", "--model", _model, "--onnx", _model], "--onnx");

    [Test]
    public void LogOntoTheSave_IsRefused() =>
        Refused(Train("--save", _kit.P("n.rnnx"), "--log", _kit.P("n.rnnx")), "--log");

    [Test]
    public void ForecastOutputsOntoInputsOrEachOther_AreRefused()
    {
        Refused(["forecast", "--model", _model, "--csv", _csv, "--json", _csv], "--json");
        Refused(["forecast", "--model", _model, "--csv", _csv, "--plot", _model], "--plot");
        Refused(["forecast", "--model", _model, "--csv", _csv, "--plot", _kit.P("f.out"), "--json", _kit.P("f.out")], "--json");
    }

    [Test]
    public void TheSameFileByAnotherName_IsRefused()
    {
        Assume.That(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "symbolic and hard links");
        string link = _kit.P("link-to-csv.csv");
        if (!File.Exists(link)) File.CreateSymbolicLink(link, _csv);
        Refused(Train("--save", link), "is a symbolic link");

        string hard = _kit.P("hard.csv");
        if (!File.Exists(hard)) CliTestKit.Sh("ln", _csv, hard);
        Refused(Train("--save", hard), "is the same file as the input --csv");

        // The same directory entry reached through a linked folder.
        string linkedDir = _kit.P("linked-dir");
        if (!Directory.Exists(linkedDir)) Directory.CreateSymbolicLink(linkedDir, _kit.Dir);
        Refused(Train("--save", Path.Combine(linkedDir, "d.csv")), "is the same file as the input --csv");
        Refused(["export", "--model", _model, "--onnx", Path.Combine(linkedDir, "m.rnnx")], "is the same file as the input --model");
    }

    [Test]
    public void OutputsNeverReplaceSpecialFiles()
    {
        Assume.That(OperatingSystem.IsLinux(), "FIFOs and /dev/null");
        string fifo = _kit.P("out.fifo");
        if (!File.Exists(fifo)) CliTestKit.Sh("mkfifo", fifo);
        Refused(Train("--save", fifo), "is a named pipe (FIFO); outputs only replace regular files");
        Refused(Train("--save", "/dev/null"), "is a character device; outputs only replace regular files");
        Refused(Train("--save", _kit.Dir), "is a folder; outputs only replace regular files");
        // A symbolic link onto a device is not followed.
        string devLink = _kit.P("null-link");
        if (!File.Exists(devLink)) File.CreateSymbolicLink(devLink, "/dev/null");
        Refused(["export", "--model", _model, "--onnx", devLink], "is a symbolic link");
        Assert.That(File.Exists("/dev/null") && new FileInfo("/dev/null").Length == 0);
    }

    [Test]
    public void UnwritableOrMissingFolders_AreRefusedBeforeTraining()
    {
        Refused(Train("--save", _kit.P("no-such-folder/m.rnnx")), "does not exist");
        Refused(Train("--save", Path.Combine(_csv, "m.rnnx")), "is a regular file, not a folder");
        Refused(Train("--save", _kit.P("ok.rnnx"), "--log", Path.Combine(_csv, "log.csv")), "--log");
    }

    [Test]
    public void SpecialInputs_AreRefusedAtOnceNamingTheirKind()
    {
        Assume.That(OperatingSystem.IsLinux(), "FIFOs and /dev/zero");
        string fifo = _kit.P("in.fifo");
        if (!File.Exists(fifo)) CliTestKit.Sh("mkfifo", fifo);
        var sw = Stopwatch.StartNew();
        Refused(Train("--save", _kit.P("x.rnnx"), "--csv", fifo), "--csv");
        Refused(["train", "--csv", fifo, "--column", "value", "--save", _kit.P("x.rnnx")], $"--csv '{fifo}' is a named pipe (FIFO), not a regular file");
        Refused(["train", "--csv", "/dev/zero", "--column", "value", "--save", _kit.P("x.rnnx")], "--csv '/dev/zero' is a character device, not a regular file");
        Refused(["train", "--csv", _kit.Dir, "--column", "value", "--save", _kit.P("x.rnnx")], "is a folder, not a regular file");
        Refused(["forecast", "--model", fifo, "--csv", _csv], $"--model '{fifo}' is a named pipe (FIFO)");
        Refused(["forecast", "--model", _kit.Dir, "--csv", _csv], "is a folder, not a regular file");
        Refused(["forecast", "--model", _kit.P("absent.rnnx"), "--csv", _csv], "absent.rnnx': no such file");
        Refused(["export", "--model", "/dev/zero", "--onnx", _kit.P("x.onnx")], "--model '/dev/zero' is a character device");
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "special inputs are refused without reading them");
    }

    [Test]
    public void CheckpointPatterns_AreCheckedBeforeTraining()
    {
        string victim = _kit.Csv("ck-1.csv", 80);
        Refused(["train", "--csv", victim, "--column", "value", "--arch", "linear", "--window", "8", "--horizon", "2", "--epochs", "2",
            "--save", _kit.P("c.rnnx"), "--checkpoint", _kit.P("ck-{epoch}.csv")], "--checkpoint");
        Refused(Train("--save", _kit.P("c.rnnx"), "--checkpoint", _kit.P("c.rnnx")), "--checkpoint");
        var sw = Stopwatch.StartNew();
        Refused(Train("--save", _kit.P("c.rnnx"), "--checkpoint", _kit.P("ck-{epoch:0999999999d}.rnnx")), "is above the limit 64");
        Refused(Train("--save", _kit.P("c.rnnx"), "--checkpoint", _kit.P("ck-{nope}.rnnx")), "'{nope}'");
        Refused(Train("--save", _kit.P("c.rnnx"), "--checkpoint", _kit.P("ck-{epoch.rnnx")), "unclosed");
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void CheckpointNamesFromLoggedValues_AreCheckedWhenWritten()
    {
        // A name that depends on the loss is known only after the epoch: the guard runs just before the save.
        string victim = _kit.Csv("ck-0.25.csv", 10);
        var guard = new Rnnx.Cli.PathGuard();
        guard.Input("--csv", victim);
        string pattern = _kit.P("ck-{loss}.csv");
        Rnnx.Cli.CheckpointPattern.Check(pattern, 1, 3, guard);   // the sample name (loss 0.5) is free
        var check = new Rnnx.Cli.CheckpointPattern.Guard(pattern, guard);
        Assert.That(() => check.OnEpochEnd(0, new Dictionary<string, double> { ["loss"] = 0.75 }, 0), Throws.Nothing);
        Assert.That(() => check.OnEpochEnd(1, new Dictionary<string, double> { ["loss"] = 0.25 }, 0),
            Throws.TypeOf<Rnnx.Cli.CliException>().With.Message.Contains("is the same file as --csv").And.Message.Contains("training stopped before writing it"));
    }

    [Test]
    public void ChapterOutputs_AreCheckedAgainstEachOther()
    {
        string outDir = _kit.P("plots");
        Directory.CreateDirectory(outDir);
        Refused(["chapter", "--only", "linear", "--epochs", "1", "--out", outDir, "--json", Path.Combine(outDir, "mock_series.png")], "--out");
        Refused(["chapter", "--only", "linear", "--epochs", "1", "--out", _csv], "is a regular file, not a folder");
    }
}
