using System.Globalization;

namespace Rnnx.Data;

/// <summary>The cells of a series as read, before dates are parsed and gaps filled (values kept in float64 until then).</summary>
internal sealed class SeriesCells
{
    /// <summary>Creates the collector; the columns are named as in messages (<c>'name'</c> or <c>#n</c>; the date column empty when none).</summary>
    public SeriesCells(string valueColumn, string dateColumn)
    {
        ValueColumn = valueColumn;
        DateColumn = dateColumn;
    }

    public string ValueColumn { get; }

    public string DateColumn { get; }

    public List<double> Values { get; } = [];

    public List<string>? Dates { get; private set; }

    public List<int> Rows { get; } = [];

    public int Gaps { get; set; }

    /// <summary>Adds one row's value cell (and date cell, if any), both trimmed.</summary>
    public void Add(string cell, string? date, int row, string source, SeriesCsvOptions options)
    {
        double v;
        if (cell.Length == 0)
        {
            if (options.Fill == FillMode.None && !options.AllowMissing)
            {
                string message = $"{source}: row {row}, column {ValueColumn}: the cell is empty";
                throw new SeriesCsvException(message, row, SeriesCsvProblem.EmptyCell, message, null);
            }
            v = double.NaN;
            Gaps++;
        }
        else
        {
            if (!StrictNumber.TryParseDouble(cell, out v))
                throw new SeriesCsvException($"{source}: row {row}, column {ValueColumn}: '{SeriesCsv.Short(cell)}' is not a number", row);
            if (!double.IsFinite(v) || Math.Abs(v) > float.MaxValue)
                throw new SeriesCsvException($"{source}: row {row}, column {ValueColumn}: '{SeriesCsv.Short(cell)}' is not a finite number", row);
        }
        if (date is not null)
        {
            if (date.Length == 0) throw new SeriesCsvException($"{source}: row {row}, column {DateColumn}: the date cell is empty", row);
            (Dates ??= []).Add(date);
        }
        Values.Add(v);
        Rows.Add(row);
    }
}

/// <summary>Parses the dates of a series read by <see cref="SeriesCsv"/>, inserts missing dates and fills gaps.</summary>
internal static class SeriesGaps
{
    private static readonly string[] DateFormats =
    [
        "yyyy-MM-dd", "yyyy-MM", "yyyy", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
    ];

    /// <summary>The finished series: dates parsed (if asked), missing dates inserted, gaps filled as the options say.</summary>
    public static CsvSeries Complete(SeriesCells cells, string column, string source, SeriesCsvOptions options)
    {
        var values = cells.Values;
        var rows = cells.Rows;
        var texts = cells.Dates;
        DateTime[]? times = null;
        Frequency? frequency = null;
        if (options.ParseDates && texts is not null)
        {
            var parsed = Parse(texts, rows, cells.DateColumn, source);
            frequency = Frequency.Infer(parsed);
            (values, rows, texts, times) = InsertMissingDates(values, rows, texts, parsed, frequency, cells, source, options);
        }
        if (options.Fill != FillMode.None) Fill(values, rows, options.Fill, cells.ValueColumn, source);
        return new CsvSeries(column, values.Select(v => (float)v).ToArray(), texts?.ToArray(), rows.ToArray())
        {
            Times = times?.Select(t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc))).ToArray(),
            Frequency = frequency,
            Gaps = cells.Gaps,
        };
    }

    private static List<DateTime> Parse(List<string> texts, List<int> rows, string dateColumn, string source)
    {
        var parsed = new List<DateTime>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            string d = texts[i];
            if (!DateTime.TryParseExact(d, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
                throw new SeriesCsvException($"{source}: row {rows[i]}, column {dateColumn}: '{SeriesCsv.Short(d)}' is not an ISO 8601 date (e.g. 2024-01-31 or 2024-01-31T12:00:00)", rows[i]);
            if (parsed.Count > 0 && t <= parsed[^1])
                throw new SeriesCsvException($"{source}: row {rows[i]}, column {dateColumn}: {SeriesCsv.Short(d)} does not come after the previous row's date; rows must be in time order", rows[i]);
            parsed.Add(t);
        }
        return parsed;
    }

    private static (List<double>, List<int>, List<string>, DateTime[]) InsertMissingDates(List<double> values, List<int> rows, List<string> texts,
        List<DateTime> dates, Frequency f, SeriesCells cells, string source, SeriesCsvOptions options)
    {
        var outValues = new List<double>(values.Count);
        var outRows = new List<int>(rows.Count);
        var outTexts = new List<string>(texts.Count);
        var outDates = new List<DateTime>(dates.Count);
        for (int i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                long? steps = f.StepsBetween(dates[i - 1], dates[i]);
                if (steps is null)
                    throw new SeriesCsvException(string.Create(CultureInfo.InvariantCulture,
                        $"{source}: row {rows[i]}, column {cells.DateColumn}: {dates[i]:s} is not a whole number of steps ({f.Name}) after {dates[i - 1]:s}"), rows[i]);
                if (steps > 1)
                {
                    if (options.Fill == FillMode.None && !options.AllowMissing)
                    {
                        string message = string.Create(CultureInfo.InvariantCulture,
                            $"{source}: row {rows[i]}: {steps - 1} date(s) missing ({f.Name}) between {dates[i - 1]:s} and {dates[i]:s}");
                        throw new SeriesCsvException(message, rows[i], SeriesCsvProblem.MissingDates, message, null);
                    }
                    if (checked(outValues.Count + steps.Value) > int.MaxValue / 2)
                        throw new SeriesCsvException($"{source}: row {rows[i]}: the gap before it is too long to fill ({steps - 1} missing dates)", rows[i]);
                    for (int k = 1; k < steps; k++)
                    {
                        var date = f.After(dates[i - 1], k)!.Value;
                        outValues.Add(double.NaN);
                        outRows.Add(rows[i]);
                        outTexts.Add(date.ToString("s", CultureInfo.InvariantCulture));
                        outDates.Add(date);
                        cells.Gaps++;
                    }
                }
            }
            outValues.Add(values[i]);
            outRows.Add(rows[i]);
            outTexts.Add(texts[i]);
            outDates.Add(dates[i]);
        }
        return (outValues, outRows, outTexts, outDates.ToArray());
    }

    private static void Fill(List<double> values, List<int> rows, FillMode fill, string column, string source)
    {
        if (double.IsNaN(values[0]))
            throw new SeriesCsvException($"{source}: row {rows[0]}, column {column}: the first value is missing, so there is nothing to fill it from", rows[0]);
        for (int i = 1; i < values.Count; i++)
        {
            if (!double.IsNaN(values[i])) continue;
            int end = i;
            while (end < values.Count && double.IsNaN(values[end])) end++;
            double before = values[i - 1];
            // Linear interpolation between the known neighbours; a gap at the end takes the last known value.
            for (int k = i; k < end; k++)
                values[k] = fill == FillMode.Linear && end < values.Count
                    ? before + (values[end] - before) * (k - i + 1) / (end - i + 1)
                    : before;
            i = end - 1;
        }
    }
}
