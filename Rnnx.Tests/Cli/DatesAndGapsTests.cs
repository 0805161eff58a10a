using System.Globalization;
using System.Text.Json;
using Rnnx.Cli;
using FillMode = Rnnx.Data.FillMode;
using Frequency = Rnnx.Data.Frequency;

namespace Rnnx.Tests.Cli;

/// <summary>--date-column (ISO 8601, frequency inferred, forecasts dated), --fill previous|linear|none, --no-header.</summary>
[TestFixture]
public sealed class DatesAndGapsTests
{
    private CliTestKit _kit = null!;

    [OneTimeSetUp]
    public void Setup() => _kit = new CliTestKit();

    [OneTimeTearDown]
    public void TearDown() => _kit.Dispose();

    private string Write(string name, params string[] lines)
    {
        string path = _kit.P(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private string Monthly(string name, int rows, DateTime start, Func<int, bool>? skip = null)
    {
        var lines = new List<string> { "month,temp" };
        for (int i = 0; i < rows; i++)
            if (skip?.Invoke(i) != true)
                lines.Add($"{start.AddMonths(i):yyyy-MM-dd},{(10 + 8 * Math.Sin(i * Math.PI / 6)).ToString("R", CultureInfo.InvariantCulture)}");
        return Write(name, [.. lines]);
    }

    [Test]
    public void MonthlyDates_ForecastsAreDatedPastTheEnd()
    {
        string csv = Monthly("monthly.csv", 96, new DateTime(2000, 1, 1));
        string model = _kit.P("monthly.rnnx"), json = _kit.P("monthly.json"), plot = _kit.P("monthly.png");
        var r = CliTestKit.Run("train", "--csv", csv, "--column", "temp", "--date-column", "month", "--arch", "linear", "--window", "12", "--horizon", "3",
            "--epochs", "1", "--save", model);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        r = CliTestKit.Run("forecast", "--model", model, "--csv", csv, "--json", json, "--plot", plot);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("after 2007-12-01 (monthly)").And.Contain("2008-01-01:").And.Contain("2008-03-01:"));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.That(doc.RootElement.GetProperty("dates").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "2008-01-01", "2008-02-01", "2008-03-01" }));
        Assert.That(doc.RootElement.GetProperty("frequency").GetString(), Is.EqualTo("monthly"));
        Assert.That(doc.RootElement.GetProperty("last_date").GetString(), Is.EqualTo("2007-12-01"));
        Assert.That(new FileInfo(plot).Length, Is.GreaterThan(1000));
    }

    [Test]
    public void Frequencies_AreInferred()
    {
        Assert.That(Frequency.Infer([new(2020, 1, 31), new(2020, 2, 29), new(2020, 3, 31)]) is { Months: 1, MonthEnd: true });
        Assert.That(new Frequency(1, TimeSpan.Zero, true).After(new DateTime(2020, 2, 29), 1), Is.EqualTo(new DateTime(2020, 3, 31)));
        Assert.That(Frequency.Infer([new(2020, 1, 1), new(2020, 4, 1), new(2020, 7, 1)]).Name, Is.EqualTo("quarterly"));
        Assert.That(Frequency.Infer([new(2020, 1, 1), new(2020, 1, 8), new(2020, 1, 15)]).Name, Is.EqualTo("weekly"));
        Assert.That(Frequency.Infer([new(2020, 1, 1, 0, 0, 0), new(2020, 1, 1, 1, 0, 0), new(2020, 1, 1, 3, 0, 0)]).Name, Is.EqualTo("hourly"));
    }

    [Test]
    public void Gaps_NoneIsAnErrorNamingTheRow_PreviousAndLinearFill()
    {
        string csv = Write("gaps.csv", "t,v", "2024-01-01,1", "2024-01-02,2", "2024-01-03,", "2024-01-04,", "2024-01-05,8", "2024-01-07,10");
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", csv, "--column", "v", "--save", _kit.P("g.rnnx")),
            "gaps.csv: row 4, column 'v': the cell is empty (use --fill previous or --fill linear to fill gaps)", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", csv, "--column", "v", "--date-column", "t", "--fill", "none", "--save", _kit.P("g.rnnx")),
            "row 4, column 'v': the cell is empty", before);

        var previous = SeriesCsv.Read(new SeriesSource(csv, "v", "t", FillMode.Previous));
        Assert.That(previous.Values, Is.EqualTo(new float[] { 1, 2, 2, 2, 8, 8, 10 }));
        Assert.That(previous.Filled, Is.EqualTo(3), "two empty cells and one missing date (2024-01-06)");
        Assert.That(previous.Dates![5], Is.EqualTo(new DateTime(2024, 1, 6)));
        var linear = SeriesCsv.Read(new SeriesSource(csv, "v", "t", FillMode.Linear));
        Assert.That(linear.Values, Is.EqualTo(new float[] { 1, 2, 4, 6, 8, 9, 10 }));
        var undated = SeriesCsv.Read(new SeriesSource(csv, "v", null, FillMode.Linear));
        Assert.That(undated.Values, Is.EqualTo(new float[] { 1, 2, 4, 6, 8, 10 }), "without dates only empty cells are gaps");

        string missingDates = Write("missing.csv", "t,v", "2024-01-01,1", "2024-01-02,2", "2024-01-05,5");
        before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", missingDates, "--column", "v", "--date-column", "t", "--save", _kit.P("g.rnnx")),
            "missing.csv: row 4: 2 date(s) missing (daily) between 2024-01-02T00:00:00 and 2024-01-05T00:00:00", before);
        string leading = Write("leading.csv", "i,v", "1,", "2,1", "3,2");
        Assert.That(() => SeriesCsv.Read(new SeriesSource(leading, "v", null, FillMode.Previous)),
            Throws.TypeOf<CliException>().With.Message.Contains("the first value is missing"));
    }

    [Test]
    public void BadDates_AreOneLineErrors()
    {
        string notIso = Write("notiso.csv", "t,v", "2024-01-01,1", "01/02/2024,2");
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", notIso, "--column", "v", "--date-column", "t", "--save", _kit.P("d.rnnx")),
            "row 3, column 't': '01/02/2024' is not an ISO 8601 date", before);
        string backwards = Write("back.csv", "t,v", "2024-01-02,1", "2024-01-01,2");
        before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", backwards, "--column", "v", "--date-column", "t", "--save", _kit.P("d.rnnx")),
            "row 3, column 't': 2024-01-01 does not come after the previous row's date", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", backwards, "--column", "v", "--date-column", "when", "--save", _kit.P("d.rnnx")),
            "no column 'when' in the header (--date-column; columns: t, v)", before);
    }

    [Test]
    public void NoHeader_ColumnsByIndex_AndAHeaderlessFileIsDetected()
    {
        var lines = Enumerable.Range(0, 60).Select(i => $"{i},{(40.6 + Math.Sin(i)).ToString("R", CultureInfo.InvariantCulture)}").ToArray();
        string csv = Write("noheader.csv", lines);
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", csv, "--column", "40.6", "--save", _kit.P("h.rnnx")),
            "noheader.csv: the first row (0,40.6) is all numbers, so the file has no header; pass --no-header and name columns by 1-based index (1 to 2)", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", csv, "--no-header", "--column", "value", "--save", _kit.P("h.rnnx")),
            "--column 'value': with --no-header, columns are named by 1-based index (1 to 2)", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", csv, "--no-header", "--column", "3", "--save", _kit.P("h.rnnx")),
            "--column 3: the first row has 2 column(s)", before);

        var series = SeriesCsv.Read(new SeriesSource(csv, "2", NoHeader: true));
        Assert.That(series.Values, Has.Length.EqualTo(60), "the first row is data");
        Assert.That(series.Values[0], Is.EqualTo(40.6f));
        var r = CliTestKit.Run("train", "--csv", csv, "--no-header", "--column", "2", "--arch", "linear", "--window", "6", "--horizon", "2", "--epochs", "1", "--save", _kit.P("h.rnnx"));
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        r = CliTestKit.Run("forecast", "--model", _kit.P("h.rnnx"), "--csv", csv);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("t+2:"));
    }
}
