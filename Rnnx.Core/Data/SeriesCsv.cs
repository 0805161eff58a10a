using System.Text;

namespace Rnnx.Data;

/// <summary>
/// Reads one numeric column (and optionally a date column) of a CSV file: UTF-8 with or without BOM, LF or CRLF line
/// ends, comma, semicolon or tab separated (detected from the first row), RFC 4180 quotes within a line. Blank lines
/// are skipped. Dates may be parsed (ISO 8601), their frequency inferred and gaps filled (<see cref="SeriesCsvOptions"/>).
/// Runs in time linear in the file size. Every problem is a <see cref="SeriesCsvException"/> of one line naming the
/// file, the row (the line number, the header being row 1) and the column.
/// </summary>
public static class SeriesCsv
{
    private const int ColumnsListed = 10;

    /// <summary>Reads <paramref name="column"/> (and <paramref name="dateColumn"/>, if given) of the file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SeriesCsvException">A missing column, a non-numeric, non-finite or (unless allowed) empty cell, a short row, an unclosed quote, no values, a bad or missing date.</exception>
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
            throw new SeriesCsvException($"{source}: the file is empty (expected {(options.HasHeader ? "a header row naming the columns" : "rows of values")})", 1);
        if (first.Length > 0 && first[0] == '\uFEFF') first = first[1..];
        char sep = options.Separator ?? (first.Contains(',') ? ',' : first.Contains(';') ? ';' : first.Contains('\t') ? '\t' : ',');
        var firstCells = splitter.Split(first, sep, row);
        string[]? names = options.HasHeader ? firstCells.Select(c => c.Trim()).ToArray() : null;
        if (names is not null && names.All(n => StrictNumber.TryParseDouble(n, out _)))
        {
            string reason = $"{source}: the first row ({Short(first)}) is all numbers, so the file has no header";
            throw new SeriesCsvException($"{reason}; read it without a header and give columns by position", 1, SeriesCsvProblem.LooksHeaderless, reason, names.Length);
        }
        int col = Resolve(column, options.ColumnLabel, names, firstCells.Count, source);
        int dateCol = dateColumn is { } dc ? Resolve(dc, options.DateColumnLabel, names, firstCells.Count, source) : -1;
        if (dateCol == col) throw new SeriesCsvException($"{source}: the date column and the value column are the same column {Describe(col, names)}");

        var cells = new SeriesCells(Describe(col, names), dateCol >= 0 ? Describe(dateCol, names) : "");
        void Take(List<string> line, int r)
        {
            int need = Math.Max(col, dateCol);
            if (need >= line.Count)
                throw new SeriesCsvException($"{source}: row {r} has {line.Count} cell(s); column {Describe(need, names)} is cell {need + 1}", r);
            cells.Add(line[col].Trim(), dateCol >= 0 ? line[dateCol].Trim() : null, r, source, options);
        }
        if (!options.HasHeader) Take(firstCells, row);
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            row++;
            if (line.Trim().Length == 0) continue;
            Take(splitter.Split(line, sep, row), row);
        }
        if (cells.Values.Count == 0)
            throw new SeriesCsvException($"{source}: column {cells.ValueColumn} has no values{(options.HasHeader ? " (only a header row)" : "")}");
        return SeriesGaps.Complete(cells, names is not null ? names[col] : $"#{col + 1}", source, options);
    }

    private static int Resolve(CsvColumn c, string? label, string[]? names, int cellCount, string source)
    {
        if (c.Name is { } name)
        {
            if (names is null)
                throw new SeriesCsvException($"{source}: column '{Short(name)}' is given by name but the file is read without a header; give its position", null,
                    SeriesCsvProblem.NameWithoutHeader, $"{source}: column '{Short(name)}' is given by name but the file is read without a header", cellCount);
            int i = Array.IndexOf(names, name);
            if (i >= 0) return i;
            string listed = string.Join(", ", names.Take(ColumnsListed).Select(Short));
            string more = names.Length > ColumnsListed ? $", ... ({names.Length} columns)" : "";
            throw new SeriesCsvException($"{source}: no column '{Short(name)}' in the header ({(label is null ? "" : label + "; ")}columns: {listed}{more})", 1);
        }
        if (c.Index >= cellCount)
            throw new SeriesCsvException(label is null
                ? $"{source}: column #{c.Index + 1} does not exist; the first row has {cellCount} cell(s)"
                : $"{source}: {label} {c.Index + 1}: the first row has {cellCount} column(s)", 1);
        return c.Index;
    }

    private static string Describe(int col, string[]? names) => names is not null ? $"'{Short(names[col])}'" : $"#{col + 1}";

    /// <summary>Text from the file shortened for a one-line message, control characters shown as '?'.</summary>
    internal static string Short(string s)
    {
        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).Take(60).ToArray());
        return s.Length <= 60 ? clean : clean[..57] + "...";
    }

    /// <summary>Splits one line into cells (RFC 4180 quotes); linear in the line's length.</summary>
    internal static List<string> Split(string line, char sep, string source, int row) => new Splitter(source).Split(line, sep, row);

    /// <summary>Splits lines into cells (RFC 4180 quotes), reusing its buffer; linear in the line length.</summary>
    private sealed class Splitter(string source)
    {
        private readonly StringBuilder _cell = new();

        public List<string> Split(string line, char sep, int row)
        {
            var cells = new List<string>();
            _cell.Clear();
            bool quoted = false, content = false;   // content: a non-blank character (or a quote) already in this cell
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { _cell.Append('"'); i++; }
                    else if (c == '"') quoted = false;
                    else _cell.Append(c);
                }
                else if (c == '"' && !content) { _cell.Clear(); quoted = true; content = true; }
                else if (c == sep) { cells.Add(_cell.ToString()); _cell.Clear(); content = false; }
                else
                {
                    _cell.Append(c);
                    content |= !char.IsWhiteSpace(c);
                }
            }
            if (quoted) throw new SeriesCsvException($"{source}: row {row}: a quoted cell is not closed", row);
            cells.Add(_cell.ToString());
            return cells;
        }
    }
}
