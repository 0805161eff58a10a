using System.Text;
using Rnnx.Data;

namespace Rnnx.Tests.Data;

/// <summary>The public CSV series reader: dialects, columns by name or position, dates, and one-line errors naming row and column.</summary>
public sealed class SeriesCsvTests
{
    private static CsvSeries Read(string text, CsvColumn column, CsvColumn? date = null, SeriesCsvOptions? options = null) =>
        SeriesCsv.Read(new StringReader(text), "d.csv", column, date, options);

    private static SeriesCsvException Bad(string text, CsvColumn column, CsvColumn? date = null, SeriesCsvOptions? options = null)
    {
        var e = Assert.Throws<SeriesCsvException>(() => Read(text, column, date, options))!;
        Assert.That(e.Message, Does.Not.Contain("\n"), "one line");
        Assert.That(e.Message, Does.StartWith("d.csv: "));
        return e;
    }

    [Test]
    public void ReadsEveryDialect()
    {
        Assert.That(Read("date,temp\n2020-01,1.5\n2020-02,2\n", "temp").Values, Is.EqualTo(new[] { 1.5f, 2f }));
        Assert.That(Read("date;temp\r\n2020-01;1.5\r\n\r\n2020-02;-3e2\r\n", "temp").Values, Is.EqualTo(new[] { 1.5f, -300f }));
        Assert.That(Read("date\ttemp\n2020-01\t 7 \n", "temp").Values, Is.EqualTo(new[] { 7f }));
        var q = Read("\"a, b\",\"x \"\"y\"\"\"\n\"1,5\",\"4\"\n", "x \"y\"");
        Assert.That((q.Column, q.Values[0]), Is.EqualTo(("x \"y\"", 4f)));
        Assert.That(Read("a,b\n1,2\n3,4\n", 1).Values, Is.EqualTo(new[] { 2f, 4f }), "by zero-based position");
    }

    [Test]
    public void ReadsAFileWithByteOrderMark()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rnnx-csv-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, "temp;x\r\n1;2\r\n3;4\r\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        try
        {
            var s = SeriesCsv.Read(path, "temp");
            Assert.That((s.Column, s.Values), Is.EqualTo(("temp", new[] { 1f, 3f })));
        }
        finally { File.Delete(path); }
        var e = Assert.Throws<FileNotFoundException>(() => SeriesCsv.Read(path, "temp"))!;
        Assert.That(e.Message, Does.EndWith(": no such file"));
    }

    [Test]
    public void DatesAndRowsComeAlong()
    {
        var s = Read("month,value\n2020-01,1\n\n2020-02,2\n", "value", "month");
        Assert.That(s.Dates, Is.EqualTo(new[] { "2020-01", "2020-02" }));
        Assert.That(s.Rows, Is.EqualTo(new[] { 2, 4 }), "file rows, blank lines counted");
        Assert.That(Read("month,value\n2020-01,1\n", "value").Dates, Is.Null);
        Assert.That(Bad("month,value\n,1\n", "value", "month").Message, Does.Contain("row 2, column 'month': the date cell is empty"));
        Assert.That(Bad("m,v\n1,2\n", "v", "v").Message, Does.Contain("the same column"));
    }

    [Test]
    public void HeaderlessFiles()
    {
        var opts = new SeriesCsvOptions { HasHeader = false };
        var s = Read("40.6,1\n40.8,2\n", 0, null, opts);
        Assert.That((s.Column, s.Values), Is.EqualTo(("#1", new[] { 40.6f, 40.8f })), "the first row is data, not lost");
        Assert.That(Bad("40.6,1\n40.8,2\n", "40.6").Message, Does.Contain("is all numbers, so the file has no header"));
        Assert.That(Bad("1,2\n", "a", null, opts).Message, Does.Contain("given by name but the file is read without a header"));
        Assert.That(Bad("1,2\n", 5, null, opts).Message, Does.Contain("column #6 does not exist; the first row has 2 cell(s)"));
    }

    [Test]
    public void BadCellsNameRowAndColumn()
    {
        Assert.That(Bad("a,b\n1,2\n3,x\n", "b").Message, Is.EqualTo("d.csv: row 3, column 'b': 'x' is not a number"));
        Assert.That(Bad("a,b\n1,2\n3,1e999\n", "b").Message, Is.EqualTo("d.csv: row 3, column 'b': '1e999' is not a finite number"));
        Assert.That(Bad("a,b\n1,\n", "b").Message, Is.EqualTo("d.csv: row 2, column 'b': the cell is empty"));
        Assert.That(Bad("a,b\n1\n", "b").Message, Is.EqualTo("d.csv: row 2 has 1 cell(s); column 'b' is cell 2"));
        Assert.That(Bad("a,b\n\"1,2\n", "b").Message, Is.EqualTo("d.csv: row 2: a quoted cell is not closed"));
        Assert.That(Bad("a,b\n1,2\n", "c").Message, Is.EqualTo("d.csv: no column 'c' in the header (columns: a, b)"));
        Assert.That(Bad("a,b\n", "b").Message, Is.EqualTo("d.csv: column 'b' has no values (only a header row)"));
        Assert.That(Bad("", "b").Message, Does.Contain("the file is empty"));
        Assert.That(Bad("a,b\n1,nan\n", "b").Message, Does.Contain("not a finite number"));
        Assert.That(Bad("a,b\n1,2\n3,x\n", "b").Row, Is.EqualTo(3));
    }

    [Test]
    public void GapsCanBeReadAsNaN()
    {
        var s = Read("a,b\n1,2\n3,\n5,6\n", "b", null, new SeriesCsvOptions { AllowMissing = true });
        Assert.That(s.Values[0], Is.EqualTo(2f));
        Assert.That(float.IsNaN(s.Values[1]));
        Assert.That(s.Values[2], Is.EqualTo(6f));
    }

    [Test]
    public void LongLinesAndManyRowsReadInLinearTime()
    {
        // A quoted cell of 200,000 characters and 200,000 rows: quadratic splitting would take minutes here.
        var sb = new StringBuilder("note,v\n");
        sb.Append('"').Append(' ', 200_000).Append("\",1\n");
        for (int i = 0; i < 200_000; i++) sb.Append("\"x\",").Append(i % 97).Append('\n');
        var s = Read(sb.ToString(), "v");
        Assert.That(s.Values.Length, Is.EqualTo(200_001));
        Assert.That(s.Values[^1], Is.EqualTo(199_999 % 97));
    }

    [Test]
    public void ParsedDates_FrequencyInferred_MissingDatesAreGaps()
    {
        const string text = "t,v\n2024-01-01,1\n2024-01-02,2\n2024-01-03,\n2024-01-04,\n2024-01-05,8\n2024-01-07,10\n";
        var previous = Read(text, "v", "t", new SeriesCsvOptions { ParseDates = true, Fill = FillMode.Previous });
        Assert.That(previous.Values, Is.EqualTo(new float[] { 1, 2, 2, 2, 8, 8, 10 }));
        Assert.That(previous.Gaps, Is.EqualTo(3), "two empty cells and one missing date (2024-01-06)");
        Assert.That(previous.Frequency!.Name, Is.EqualTo("daily"));
        Assert.That(previous.Times![5], Is.EqualTo(new DateTimeOffset(2024, 1, 6, 0, 0, 0, TimeSpan.Zero)));
        Assert.That(previous.Dates![5], Is.EqualTo("2024-01-06T00:00:00"), "an inserted date in ISO 8601");
        Assert.That(previous.Rows[5], Is.EqualTo(7), "an inserted date has the row after the gap");
        var linear = Read(text, "v", "t", new SeriesCsvOptions { ParseDates = true, Fill = FillMode.Linear });
        Assert.That(linear.Values, Is.EqualTo(new float[] { 1, 2, 4, 6, 8, 9, 10 }));
        var kept = Read(text, "v", "t", new SeriesCsvOptions { ParseDates = true, AllowMissing = true });
        Assert.That(kept.Values.Select(float.IsNaN), Is.EqualTo(new[] { false, false, true, true, false, true, false }));

        Assert.That(Read(text, "v", "t", new SeriesCsvOptions { AllowMissing = true }).Times, Is.Null, "dates stay text unless parsed");
        var missing = Bad("t,v\n2024-01-01,1\n2024-01-02,2\n2024-01-05,5\n", "v", "t", new SeriesCsvOptions { ParseDates = true });
        Assert.That((missing.Message, missing.Problem, missing.Row),
            Is.EqualTo(("d.csv: row 4: 2 date(s) missing (daily) between 2024-01-02T00:00:00 and 2024-01-05T00:00:00", SeriesCsvProblem.MissingDates, 4)));
        Assert.That(Bad("t,v\n2024-01-02,1\n2024-01-01,2\n", "v", "t", new SeriesCsvOptions { ParseDates = true }).Message,
            Is.EqualTo("d.csv: row 3, column 't': 2024-01-01 does not come after the previous row's date; rows must be in time order"));
        Assert.That(Bad("t,v\n2024-01-01,1\n01/02/2024,2\n", "v", "t", new SeriesCsvOptions { ParseDates = true }).Message,
            Does.StartWith("d.csv: row 3, column 't': '01/02/2024' is not an ISO 8601 date"));
        Assert.That(Bad("i,v\n1,\n2,1\n", "v", null, new SeriesCsvOptions { Fill = FillMode.Previous }).Message,
            Is.EqualTo("d.csv: row 2, column 'v': the first value is missing, so there is nothing to fill it from"));
    }

    [Test]
    public void CallersCanNameColumnsAndAddTheirOwnHints()
    {
        var labels = new SeriesCsvOptions { ColumnLabel = "--column", DateColumnLabel = "--date-column" };
        Assert.That(Bad("a,b\n1,2\n", "c", null, labels).Message, Is.EqualTo("d.csv: no column 'c' in the header (--column; columns: a, b)"));
        Assert.That(Bad("a,b\n1,2\n", "b", "c", labels).Message, Is.EqualTo("d.csv: no column 'c' in the header (--date-column; columns: a, b)"));
        Assert.That(Bad("1,2\n", 2, null, labels with { HasHeader = false }).Message, Is.EqualTo("d.csv: --column 3: the first row has 2 column(s)"));
        var wide = string.Join(',', Enumerable.Range(0, 12).Select(i => $"c{i}")) + "\n" + string.Join(',', Enumerable.Repeat("1", 12)) + "\n";
        Assert.That(Bad(wide, "x").Message, Does.EndWith("(columns: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, ... (12 columns))"));

        var headerless = Bad("40.6,1\n", "x");
        Assert.That((headerless.Problem, headerless.FirstRowCells, headerless.Reason),
            Is.EqualTo((SeriesCsvProblem.LooksHeaderless, 2, "d.csv: the first row (40.6,1) is all numbers, so the file has no header")));
        Assert.That(headerless.Message, Does.StartWith(headerless.Reason + "; "));
        var empty = Bad("a,b\n1,\n", "b");
        Assert.That((empty.Problem, empty.Reason), Is.EqualTo((SeriesCsvProblem.EmptyCell, empty.Message)));
        var named = Bad("1,2\n", "a", null, new SeriesCsvOptions { HasHeader = false });
        Assert.That((named.Problem, named.FirstRowCells), Is.EqualTo((SeriesCsvProblem.NameWithoutHeader, 2)));
    }

    [Test]
    public void NumbersAreStrict()
    {
        Assert.That(Bad("a,b\n1,5\0\n", "b").Message, Is.EqualTo("d.csv: row 2, column 'b': '5?' is not a number"), "no trailing NUL");
        Assert.That(Bad("a,b\n1,0x10\n", "b").Message, Does.Contain("'0x10' is not a number"));
    }
}
