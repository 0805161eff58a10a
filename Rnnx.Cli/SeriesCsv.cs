using System.Globalization;
using System.Text;

namespace Rnnx.Cli;

/// <summary>
/// Reads one numeric column of a CSV file with a header row (comma, semicolon or tab separated, detected from the
/// header; RFC 4180 quotes). Every problem is a <see cref="CliException"/> of one line naming the file, the row (the
/// line number, the header being row 1) and the column.
/// </summary>
internal static class SeriesCsv
{
    /// <summary>The column's values in file order.</summary>
    /// <exception cref="CliException">Missing file or column, a non-numeric or non-finite cell, a short row.</exception>
    public static float[] ReadColumn(string path, string column)
    {
        if (!File.Exists(path)) throw new CliException($"{path}: no such file", Cli.ExitError);
        string name = Path.GetFileName(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        string? header = reader.ReadLine();
        if (header is null || header.Trim().Length == 0) throw new CliException($"{name}: the file is empty (expected a header row naming the columns)", Cli.ExitError);
        char sep = header.Contains(',') ? ',' : header.Contains(';') ? ';' : header.Contains('\t') ? '\t' : ',';
        var names = Split(header, sep, name, 1);
        int col = names.FindIndex(n => n.Trim() == column);
        if (col < 0)
            throw new CliException($"{name}: no column '{column}' in the header (columns: {string.Join(", ", names.Select(n => n.Trim()))})", Cli.ExitError);
        var values = new List<float>();
        int row = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            row++;
            if (line.Trim().Length == 0) continue;
            var cells = Split(line, sep, name, row);
            if (col >= cells.Count)
                throw new CliException($"{name}: row {row} has {cells.Count} cell(s); column '{column}' is cell {col + 1}", Cli.ExitError);
            string cell = cells[col].Trim();
            if (cell.Length == 0)
                throw new CliException($"{name}: row {row}, column '{column}': the cell is empty", Cli.ExitError);
            if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new CliException($"{name}: row {row}, column '{column}': '{Short(cell)}' is not a number", Cli.ExitError);
            if (!double.IsFinite(v) || Math.Abs(v) > float.MaxValue)
                throw new CliException($"{name}: row {row}, column '{column}': '{Short(cell)}' is not a finite number", Cli.ExitError);
            values.Add((float)v);
        }
        if (values.Count == 0) throw new CliException($"{name}: column '{column}' has no values (only a header row)", Cli.ExitError);
        return values.ToArray();
    }

    private static string Short(string s) => s.Length <= 40 ? s : s[..37] + "...";

    private static List<string> Split(string line, char sep, string file, int row)
    {
        var cells = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"' && sb.ToString().Trim().Length == 0) { sb.Clear(); quoted = true; }
            else if (c == sep) { cells.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        if (quoted) throw new CliException($"{file}: row {row}: a quoted cell is not closed", Cli.ExitError);
        cells.Add(sb.ToString());
        return cells;
    }
}
