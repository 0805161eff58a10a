using System.Globalization;
using System.Text;

namespace Rnnx.Data;

/// <summary>A column of a CSV file: by header name or by zero-based position.</summary>
public readonly record struct CsvColumn
{
    private CsvColumn(string? name, int index)
    {
        Name = name;
        Index = index;
    }

    /// <summary>The header name, or null for a column given by position.</summary>
    public string? Name { get; }

    /// <summary>The zero-based position (meaningful when <see cref="Name"/> is null).</summary>
    public int Index { get; }

    /// <summary>The column whose header is <paramref name="name"/> (compared after trimming spaces).</summary>
    public static CsvColumn Named(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new CsvColumn(name.Trim(), -1);
    }

    /// <summary>The column at zero-based position <paramref name="index"/>.</summary>
    public static CsvColumn At(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new CsvColumn(null, index);
    }

    /// <summary>A column by name.</summary>
    public static implicit operator CsvColumn(string name) => Named(name);

    /// <summary>A column by zero-based position.</summary>
    public static implicit operator CsvColumn(int index) => At(index);

    /// <inheritdoc/>
    public override string ToString() => Name is not null ? $"'{Name}'" : $"#{Index + 1}";
}

/// <summary>How <see cref="SeriesCsv"/> reads a file.</summary>
public sealed record SeriesCsvOptions
{
    /// <summary>The first row names the columns (default true). Without a header, columns are given by position.</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>
    /// Empty value cells are read as <see cref="float.NaN"/> instead of being an error (default false), so that the
    /// caller can fill the gaps.
    /// </summary>
    public bool AllowMissing { get; init; }

    /// <summary>The separator; null (default) detects it from the first row: comma, else semicolon, else tab.</summary>
    public char? Separator { get; init; }
}

/// <summary>A column of values read from a CSV file, with the optional date column's cells beside it.</summary>
/// <param name="Column">The value column's header (or <c>#n</c>, one-based, without a header).</param>
/// <param name="Values">The values in file order (NaN for a missing cell when <see cref="SeriesCsvOptions.AllowMissing"/>).</param>
/// <param name="Dates">The date column's cells, trimmed and unparsed, one per value; null when no date column was asked for.</param>
/// <param name="Rows">The file row (one-based, the header being row 1) of each value, for messages about a value.</param>
public sealed record CsvSeries(string Column, float[] Values, string[]? Dates, int[] Rows);

/// <summary>A CSV file that cannot be read as a series; the message is one line naming the file, row and column.</summary>
public sealed class SeriesCsvException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public SeriesCsvException(string message, int? row = null) : base(message) => Row = row;

    /// <summary>The one-based file row at fault (the header is row 1), when the problem is in a row.</summary>
    public int? Row { get; }
}

/// <summary>
/// Reads one numeric column (and optionally a date column) of a CSV file: UTF-8 with or without BOM, LF or CRLF line
/// ends, comma, semicolon or tab separated (detected from the first row), RFC 4180 quotes within a line. Blank lines
/// are skipped. Runs in time linear in the file size. Every problem is a <see cref="SeriesCsvException"/> of one line
/// naming the file, the row (the line number, the header being row 1) and the column.
/// </summary>
public static class SeriesCsv
{
    /// <summary>Reads <paramref name="column"/> (and <paramref name="dateColumn"/>, if given) of the file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SeriesCsvException">A missing column, a non-numeric, non-finite or (unless allowed) empty cell, a short row, an unclosed quote, no values.</exception>
    public static CsvSeries Read(string path, CsvColumn column, CsvColumn? dateColumn = null, SeriesCsvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Read(reader, Path.GetFileName(path), column, dateColumn, options);
    }

    /// <summary>Reads from <paramref name="reader"/>; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="SeriesCsvException">As <see cref="Read(string, CsvColumn, CsvColumn?, SeriesCsvOptions?)"/>.</exception>
    public static CsvSeries Read(TextReader reader, string source, CsvColumn column, CsvColumn? dateColumn = null, SeriesCsvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        options ??= new SeriesCsvOptions();
        var splitter = new Splitter(source);
        string? first = reader.ReadLine();
        int row = 1;
        while (first is not null && !options.HasHeader && first.Trim().Length == 0) { first = reader.ReadLine(); row++; }
        if (first is null || first.Trim().Length == 0)
            throw new SeriesCsvException(options.HasHeader ? $"{source}: the file is empty (expected a header row naming the columns)" : $"{source}: the file is empty", 1);
        if (first.Length > 0 && first[0] == '\uFEFF') first = first[1..];
        char sep = options.Separator ?? (first.Contains(',') ? ',' : first.Contains(';') ? ';' : first.Contains('\t') ? '\t' : ',');
        var firstCells = splitter.Split(first, sep, row).Select(c => c.Trim()).ToList();
        string[]? names = options.HasHeader ? firstCells.ToArray() : null;
        if (names is not null && names.Length > 0 && names.All(IsNumber))
            throw new SeriesCsvException($"{source}: the first row ({Short(first)}) holds only numbers, so it looks like data, not a header; read the file without a header and give columns by position", 1);
        int col = Resolve(column, names, firstCells.Count, source);
        int dateCol = dateColumn is { } dc ? Resolve(dc, names, firstCells.Count, source) : -1;
        if (dateCol == col) throw new SeriesCsvException($"{source}: the date column and the value column are the same column {Describe(col, names)}");
        string colText = Describe(col, names), dateText = dateCol >= 0 ? Describe(dateCol, names) : "";

        var values = new List<float>();
        var rows = new List<int>();
        var dates = dateCol >= 0 ? new List<string>() : null;
        void Take(List<string> cells, int r)
        {
            int need = Math.Max(col, dateCol);
            if (need >= cells.Count)
                throw new SeriesCsvException($"{source}: row {r} has {cells.Count} cell(s); column {(col >= cells.Count ? colText : dateText)} is cell {need + 1}", r);
            string cell = cells[col].Trim();
            float v;
            if (cell.Length == 0)
            {
                if (!options.AllowMissing) throw new SeriesCsvException($"{source}: row {r}, column {colText}: the cell is empty", r);
                v = float.NaN;
            }
            else
            {
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                    throw new SeriesCsvException($"{source}: row {r}, column {colText}: '{Short(cell)}' is not a number", r);
                if (!double.IsFinite(d) || Math.Abs(d) > float.MaxValue)
                    throw new SeriesCsvException($"{source}: row {r}, column {colText}: '{Short(cell)}' is not a finite number", r);
                v = (float)d;
            }
            if (dates is not null)
            {
                string date = cells[dateCol].Trim();
                if (date.Length == 0) throw new SeriesCsvException($"{source}: row {r}, column {dateText}: the date cell is empty", r);
                dates.Add(date);
            }
            values.Add(v);
            rows.Add(r);
        }
        if (!options.HasHeader) Take(splitter.Split(first, sep, row), row);
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            row++;
            if (line.Trim().Length == 0) continue;
            Take(splitter.Split(line, sep, row), row);
        }
        if (values.Count == 0) throw new SeriesCsvException($"{source}: column {colText} has no values (only a header row)");
        string name = names is not null ? names[col] : $"#{col + 1}";
        return new CsvSeries(name, values.ToArray(), dates?.ToArray(), rows.ToArray());
    }

    private static int Resolve(CsvColumn c, string[]? names, int cellCount, string source)
    {
        if (c.Name is { } name)
        {
            if (names is null) throw new SeriesCsvException($"{source}: column '{name}' is given by name but the file is read without a header; give its position");
            int i = Array.IndexOf(names, name);
            if (i < 0) throw new SeriesCsvException($"{source}: no column '{name}' in the header (columns: {string.Join(", ", names)})", 1);
            return i;
        }
        if (c.Index >= cellCount)
            throw new SeriesCsvException($"{source}: column #{c.Index + 1} does not exist; the first row has {cellCount} cell(s)", 1);
        return c.Index;
    }

    private static string Describe(int col, string[]? names) => names is not null ? $"'{names[col]}'" : $"#{col + 1}";

    private static bool IsNumber(string s) => s.Length > 0 && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static string Short(string s) => s.Length <= 40 ? s : s[..37] + "...";

    /// <summary>Splits one line into cells (RFC 4180 quotes), reusing its buffers; linear in the line length.</summary>
    private sealed class Splitter(string source)
    {
        private readonly StringBuilder _cell = new();

        public List<string> Split(string line, char sep, int row)
        {
            var cells = new List<string>();
            _cell.Clear();
            bool quoted = false, onlySpaces = true;
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { _cell.Append('"'); i++; }
                    else if (c == '"') quoted = false;
                    else _cell.Append(c);
                }
                else if (c == '"' && onlySpaces) { _cell.Clear(); quoted = true; onlySpaces = false; }
                else if (c == sep) { cells.Add(_cell.ToString()); _cell.Clear(); onlySpaces = true; }
                else
                {
                    _cell.Append(c);
                    if (c != ' ' && c != '\t') onlySpaces = false;
                }
            }
            if (quoted) throw new SeriesCsvException($"{source}: row {row}: a quoted cell is not closed", row);
            cells.Add(_cell.ToString());
            return cells;
        }
    }
}
