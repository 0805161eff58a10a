using System.Globalization;
using System.Text;

namespace Rnnx.Cli;

/// <summary>A series read from a CSV column: values in time order, with their dates when a date column was given.</summary>
/// <param name="Values">The values (gaps filled as asked).</param>
/// <param name="Column">The column's name (its header, or its 1-based index without a header).</param>
/// <param name="Dates">The date of each value, or null.</param>
/// <param name="Frequency">The inferred spacing of the dates, or null.</param>
/// <param name="Filled">How many values were filled (empty cells and missing dates).</param>
internal sealed record SeriesData(float[] Values, string Column, DateTime[]? Dates, Frequency? Frequency, int Filled);

/// <summary>
/// Reads one numeric column of a CSV file (comma, semicolon or tab separated, detected from the first line; RFC 4180
/// quotes; a header row unless <see cref="SeriesSource.NoHeader"/>). Splitting is linear in the line length. Every
/// problem is a <see cref="CliException"/> of one line naming the file, the row (the line number) and the column.
/// The caller checks the file's kind and size first (<see cref="PathGuard.Input"/>).
/// </summary>
internal static class SeriesCsv
{
    private const int ColumnsListed = 10;

    private static readonly string[] DateFormats =
    [
        "yyyy-MM-dd", "yyyy-MM", "yyyy", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
    ];

    /// <summary>Reads the column (and dates) of <paramref name="source"/>.</summary>
    public static SeriesData Read(SeriesSource source)
    {
        string name = Path.GetFileName(source.Csv);
        using var reader = new StreamReader(source.Csv, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        string? first = reader.ReadLine();
        while (first is not null && first.Trim().Length == 0 && source.NoHeader) first = reader.ReadLine();
        if (first is null || first.Trim().Length == 0)
            throw new CliException($"{name}: the file is empty (expected {(source.NoHeader ? "rows of values" : "a header row naming the columns")})");
        char sep = first.Contains(',') ? ',' : first.Contains(';') ? ';' : first.Contains('\t') ? '\t' : ',';
        var firstCells = Split(first, sep, name, 1);
        int col, dateCol = -1;
        string columnName;
        var rows = new List<(int Row, string Value, string? Date)>();
        if (source.NoHeader)
        {
            col = IndexColumn(source.Column, "--column", firstCells.Count, name);
            columnName = source.Column;
            if (source.DateColumn is not null) dateCol = IndexColumn(source.DateColumn, "--date-column", firstCells.Count, name);
            Collect(firstCells, 1);
        }
        else
        {
            var names = firstCells.Select(n => n.Trim()).ToList();
            if (names.All(n => StrictNumber.TryParseDouble(n, out _)))
                throw new CliException($"{name}: the first row ({CliOptions.Short(first)}) is all numbers, so the file has no header; "
                    + $"pass --no-header and name columns by 1-based index (1 to {names.Count})");
            col = HeaderColumn(names, source.Column, "--column", name);
            columnName = source.Column;
            if (source.DateColumn is not null) dateCol = HeaderColumn(names, source.DateColumn, "--date-column", name);
        }
        int row = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            row++;
            if (line.Trim().Length == 0) continue;
            Collect(Split(line, sep, name, row), row);
        }
        if (rows.Count == 0) throw new CliException($"{name}: column '{columnName}' has no values{(source.NoHeader ? "" : " (only a header row)")}");
        return Build(rows, source, name, columnName);

        void Collect(List<string> cells, int r)
        {
            int needed = Math.Max(col, dateCol);
            if (needed >= cells.Count)
                throw new CliException($"{name}: row {r} has {cells.Count} cell(s); column '{(needed == col ? source.Column : source.DateColumn)}' is cell {needed + 1}");
            rows.Add((r, cells[col].Trim(), dateCol >= 0 ? cells[dateCol].Trim() : null));
        }
    }

    private static SeriesData Build(List<(int Row, string Value, string? Date)> rows, SeriesSource source, string file, string column)
    {
        var values = new List<double>(rows.Count);
        var sourceRows = new List<int>(rows.Count);
        foreach (var (r, cell, _) in rows)
        {
            sourceRows.Add(r);
            if (cell.Length == 0)
            {
                if (source.Fill == FillMode.None)
                    throw new CliException($"{file}: row {r}, column '{column}': the cell is empty (use --fill previous or --fill linear to fill gaps)");
                values.Add(double.NaN);
                continue;
            }
            if (!StrictNumber.TryParseDouble(cell, out double v))
                throw new CliException($"{file}: row {r}, column '{column}': '{CliOptions.Short(cell)}' is not a number");
            if (!double.IsFinite(v) || Math.Abs(v) > float.MaxValue)
                throw new CliException($"{file}: row {r}, column '{column}': '{CliOptions.Short(cell)}' is not a finite number");
            values.Add(v);
        }
        DateTime[]? dates = null;
        Frequency? frequency = null;
        int filled = values.Count(double.IsNaN);
        if (source.DateColumn is not null)
        {
            var parsed = new List<DateTime>(rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                string d = rows[i].Date!;
                if (!DateTime.TryParseExact(d, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
                    throw new CliException($"{file}: row {rows[i].Row}, column '{source.DateColumn}': '{CliOptions.Short(d)}' is not an ISO 8601 date (e.g. 2024-01-31 or 2024-01-31T12:00:00)");
                if (parsed.Count > 0 && t <= parsed[^1])
                    throw new CliException($"{file}: row {rows[i].Row}, column '{source.DateColumn}': {d} does not come after the previous row's date; rows must be in time order");
                parsed.Add(t);
            }
            frequency = Frequency.Infer(parsed);
            (values, dates, int inserted) = InsertMissingDates(values, parsed, sourceRows, frequency, source, file);
            filled += inserted;
        }
        if (source.Fill != FillMode.None) FillGaps(values, sourceRows, source.Fill, file, column);
        return new SeriesData(values.Select(v => (float)v).ToArray(), column, dates, frequency, filled);
    }

    private static (List<double>, DateTime[], int) InsertMissingDates(List<double> values, List<DateTime> dates, List<int> rows, Frequency f, SeriesSource source, string file)
    {
        var outValues = new List<double>(values.Count);
        var outDates = new List<DateTime>(dates.Count);
        var outRows = new List<int>(rows.Count);
        int inserted = 0;
        for (int i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                long? steps = f.StepsBetween(dates[i - 1], dates[i]);
                if (steps is null)
                    throw new CliException(string.Create(CultureInfo.InvariantCulture,
                        $"{file}: row {rows[i]}, column '{source.DateColumn}': {dates[i]:s} is not a whole number of steps ({f.Name}) after {dates[i - 1]:s}"));
                if (steps > 1)
                {
                    if (source.Fill == FillMode.None)
                        throw new CliException(string.Create(CultureInfo.InvariantCulture,
                            $"{file}: row {rows[i]}: {steps - 1} date(s) missing ({f.Name}) between {dates[i - 1]:s} and {dates[i]:s} (use --fill previous or --fill linear)"));
                    if (checked(outValues.Count + steps.Value) > int.MaxValue / 2)
                        throw new CliException($"{file}: row {rows[i]}: the gap before it is too long to fill ({steps - 1} missing dates)");
                    for (int k = 1; k < steps; k++)
                    {
                        outValues.Add(double.NaN);
                        outDates.Add(f.After(dates[i - 1], k)!.Value);
                        outRows.Add(rows[i]);
                        inserted++;
                    }
                }
            }
            outValues.Add(values[i]);
            outDates.Add(dates[i]);
            outRows.Add(rows[i]);
        }
        rows.Clear();
        rows.AddRange(outRows);
        return (outValues, outDates.ToArray(), inserted);
    }

    private static void FillGaps(List<double> values, List<int> rows, FillMode fill, string file, string column)
    {
        if (double.IsNaN(values[0]))
            throw new CliException($"{file}: row {rows[0]}, column '{column}': the first value is missing, so there is nothing to fill it from");
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

    private static int IndexColumn(string text, string option, int count, string file)
    {
        if (!StrictNumber.TryParseInt(text, out int index) || index < 1)
            throw new CliException($"{option} '{CliOptions.Short(text)}': with --no-header, columns are named by 1-based index (1 to {count})");
        if (index > count) throw new CliException($"{file}: {option} {index}: the first row has {count} column(s)");
        return index - 1;
    }

    private static int HeaderColumn(List<string> names, string column, string option, string file)
    {
        int col = names.IndexOf(column);
        if (col >= 0) return col;
        string listed = string.Join(", ", names.Take(ColumnsListed).Select(CliOptions.Short));
        string more = names.Count > ColumnsListed ? $", ... ({names.Count} columns)" : "";
        throw new CliException($"{file}: no column '{CliOptions.Short(column)}' in the header ({option}; columns: {listed}{more})");
    }

    /// <summary>Splits one line into cells, RFC 4180 quotes, in time linear in the line's length.</summary>
    internal static List<string> Split(string line, char sep, string file, int row)
    {
        var cells = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false, content = false;   // content: a non-blank character outside quotes in this cell
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"' && !content) { sb.Clear(); quoted = true; content = true; }
            else if (c == sep) { cells.Add(sb.ToString()); sb.Clear(); content = false; }
            else
            {
                sb.Append(c);
                content |= !char.IsWhiteSpace(c);
            }
        }
        if (quoted) throw new CliException($"{file}: row {row}: a quoted cell is not closed");
        cells.Add(sb.ToString());
        return cells;
    }
}
