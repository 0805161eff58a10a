using System.Diagnostics;
using System.Text;

namespace Rnnx.Tests.Cli;

/// <summary>
/// All arithmetic on sizes is checked: each size option is range-checked by the parser with a message naming the
/// option and its limit, answered at once (these once hung, overflowed or ran out of memory).
/// </summary>
[TestFixture]
public sealed class SizeLimitTests
{
    private CliTestKit _kit = null!;
    private string _csv = "";

    [OneTimeSetUp]
    public void Setup()
    {
        _kit = new CliTestKit();
        _csv = _kit.Csv("s.csv", 100);
    }

    [OneTimeTearDown]
    public void TearDown() => _kit.Dispose();

    [TestCase(new[] { "--horizon", "500000000" }, "option '--horizon' must be between 1 and 100000, got 500000000")]
    [TestCase(new[] { "--window", "1000000000", "--horizon", "1000000000" }, "option '--window' must be between 1 and 100000, got 1000000000")]
    [TestCase(new[] { "--window", "2147483647" }, "option '--window' must be between 1 and 100000, got 2147483647")]
    [TestCase(new[] { "--window", "2147483648" }, "option '--window' must be between 1 and 100000, got 2147483648")]
    [TestCase(new[] { "--window", "2000000000" }, "option '--window' must be between 1 and 100000")]
    [TestCase(new[] { "--horizon", "2147483647" }, "option '--horizon' must be between 1 and 100000")]
    [TestCase(new[] { "--batch-size", "2147483647" }, "option '--batch-size' must be between 1 and 1000000, got 2147483647")]
    [TestCase(new[] { "--epochs", "99999999999999" }, "option '--epochs' must be between 1 and 1000000")]
    [TestCase(new[] { "--threads", "100000" }, "option '--threads' must be between 1 and 1024, got 100000")]
    [TestCase(new[] { "--patience", "-1" }, "option '--patience' must be between 0 and 1000000, got -1")]
    [TestCase(new[] { "--window", "5\0" }, "option '--window' expects an integer, got '5?'")]
    [TestCase(new[] { "--window", " 5" }, "option '--window' expects an integer")]
    [TestCase(new[] { "--window", "0x10" }, "option '--window' expects an integer")]
    [TestCase(new[] { "--validation", "0.95" }, "option '--validation' must be between 0.01 and 0.9, got 0.95")]
    [TestCase(new[] { "--learning-rate", "NaN" }, "option '--learning-rate' expects a number, got 'NaN'")]
    [TestCase(new[] { "--learning-rate", "1e-3\0" }, "option '--learning-rate' expects a number")]
    public void SizeOptions_AreRangeCheckedAtOnce(string[] extra, string expected)
    {
        var before = _kit.Snapshot();
        var sw = Stopwatch.StartNew();
        var r = CliTestKit.Run(["train", "--csv", _csv, "--column", "value", "--save", _kit.P("m.rnnx"), .. extra]);
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
        _kit.AssertRefused(r, expected, before);
    }

    [Test]
    public void WindowTooLongForTheSeries_IsOneLineWithTheRowsNeeded()
    {
        var before = _kit.Snapshot();
        var r = CliTestKit.Run("train", "--csv", _csv, "--column", "value", "--save", _kit.P("m.rnnx"), "--window", "100000", "--horizon", "100000");
        _kit.AssertRefused(r, "training needs at least 200000 (100000 inputs + 100000 targets)", before);
    }

    [Test]
    public void BatchLargerThanTheData_TrainsOneBatchPerEpoch()
    {
        var r = CliTestKit.Run("train", "--csv", _csv, "--column", "value", "--arch", "linear", "--window", "8", "--horizon", "2",
            "--epochs", "2", "--batch-size", "1000000", "--save", _kit.P("big-batch.rnnx"));
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("1/1"));
    }

    [Test]
    public void ManyColumns_TheErrorListsAFew()
    {
        string path = _kit.P("wide.csv");
        var header = string.Join(',', Enumerable.Range(0, 100_000).Select(i => $"c{i}"));
        File.WriteAllText(path, header + "\n" + string.Join(',', Enumerable.Repeat("1", 100_000)) + "\n");
        var before = _kit.Snapshot();
        var r = CliTestKit.Run("train", "--csv", path, "--column", "nope", "--save", _kit.P("m.rnnx"));
        _kit.AssertRefused(r, "no column 'nope' in the header (--column; columns: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, ... (100000 columns))", before);
        Assert.That(r.Err.Length, Is.LessThan(400));
    }

    [Test]
    public void NumbersWithTrailingNul_AreNotNumbers()
    {
        string path = _kit.Csv("nul.csv", 40, i => i == 3 ? "5\0" : "5");
        var before = _kit.Snapshot();
        var r = CliTestKit.Run("train", "--csv", path, "--column", "value", "--save", _kit.P("m.rnnx"), "--window", "4", "--horizon", "1");
        _kit.AssertRefused(r, "row 5, column 'value': '5?' is not a number", before);
    }

    [Test]
    public void CsvSplitting_IsLinear_OnAMegabyteOfQuoteRuns()
    {
        string path = _kit.P("quotes.csv");
        var sb = new StringBuilder("a,value\n1,x");
        sb.Append('"', 1_000_000);
        sb.Append('\n');
        File.WriteAllText(path, sb.ToString());
        var before = _kit.Snapshot();
        var sw = Stopwatch.StartNew();
        var r = CliTestKit.Run("train", "--csv", path, "--column", "value", "--save", _kit.P("m.rnnx"));
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)));
        _kit.AssertRefused(r, "row 2", before);

        // Quoted runs of escaped quotes too.
        var line = "\"" + string.Concat(Enumerable.Repeat("\"\"", 500_000)) + "\",7";
        sw.Restart();
        var cells = Rnnx.Data.SeriesCsv.Split(line, ',', "q.csv", 2);
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)));
        Assert.That(cells, Has.Count.EqualTo(2));
        Assert.That(cells[0], Has.Length.EqualTo(500_000));
        Assert.That(cells[1], Is.EqualTo("7"));
    }
}
