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

/// <summary>How gaps in a series (empty value cells, and missing dates when dates are parsed) are handled.</summary>
public enum FillMode
{
    /// <summary>A gap is an error naming its row and column (or NaN with <see cref="SeriesCsvOptions.AllowMissing"/>).</summary>
    None,

    /// <summary>A gap takes the previous value.</summary>
    Previous,

    /// <summary>A gap is interpolated linearly between its known neighbours; a gap at the end takes the last known value.</summary>
    Linear,
}

/// <summary>How <see cref="SeriesCsv"/> reads a file.</summary>
public sealed record SeriesCsvOptions
{
    /// <summary>The first row names the columns (default true). Without a header, columns are given by position.</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>How gaps are filled (default <see cref="FillMode.None"/>: a gap is an error).</summary>
    public FillMode Fill { get; init; }

    /// <summary>
    /// With <see cref="FillMode.None"/>, gaps are read as <see cref="float.NaN"/> instead of being an error (default
    /// false), so that the caller can fill them.
    /// </summary>
    public bool AllowMissing { get; init; }

    /// <summary>
    /// Parse the date column as ISO 8601 dates (default false: its cells are returned as text only). Parsed dates must
    /// increase; their frequency is inferred (<see cref="Frequency.Infer"/>) and a date missing from that spacing is a
    /// gap, inserted and handled as <see cref="Fill"/> says.
    /// </summary>
    public bool ParseDates { get; init; }

    /// <summary>The separator; null (default) detects it from the first row: comma, else semicolon, else tab.</summary>
    public char? Separator { get; init; }

    /// <summary>How messages name where the value column was given (a command-line option, say); null for none.</summary>
    public string? ColumnLabel { get; init; }

    /// <summary>How messages name where the date column was given; null for none.</summary>
    public string? DateColumnLabel { get; init; }
}

/// <summary>A column of values read from a CSV file, with the optional date column's cells beside it.</summary>
/// <param name="Column">The value column's header (or <c>#n</c>, one-based, without a header).</param>
/// <param name="Values">The values in time order (gaps filled as <see cref="SeriesCsvOptions.Fill"/> says, else NaN with <see cref="SeriesCsvOptions.AllowMissing"/>).</param>
/// <param name="Dates">The date column's cells, trimmed and unparsed, one per value (an inserted missing date in ISO 8601); null when no date column was asked for.</param>
/// <param name="Rows">The file row (one-based, the header being row 1) of each value, for messages about a value; an inserted missing date has the row after the gap.</param>
public sealed record CsvSeries(string Column, float[] Values, string[]? Dates, int[] Rows)
{
    /// <summary>The parsed dates (UTC), one per value, with <see cref="SeriesCsvOptions.ParseDates"/>; else null.</summary>
    public DateTimeOffset[]? Times { get; init; }

    /// <summary>The inferred spacing of <see cref="Times"/>, or null.</summary>
    public Frequency? Frequency { get; init; }

    /// <summary>How many values were gaps in the file (empty cells and missing dates), filled or left NaN.</summary>
    public int Gaps { get; init; }
}

/// <summary>What kind of problem a <see cref="SeriesCsvException"/> is, for callers that add their own hints.</summary>
public enum SeriesCsvProblem
{
    /// <summary>Any problem not listed below.</summary>
    Other,

    /// <summary>A value cell is empty and gaps are not filled.</summary>
    EmptyCell,

    /// <summary>Dates are missing from the inferred spacing and gaps are not filled.</summary>
    MissingDates,

    /// <summary>The header row holds only numbers: the file looks headerless.</summary>
    LooksHeaderless,

    /// <summary>A column is given by name but the file is read without a header.</summary>
    NameWithoutHeader,
}

/// <summary>A CSV file that cannot be read as a series; the message is one line naming the file, row and column.</summary>
public sealed class SeriesCsvException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public SeriesCsvException(string message, int? row = null) : this(message, row, SeriesCsvProblem.Other, message, null) { }

    /// <summary>Creates the exception for a problem that callers may explain in their own words.</summary>
    /// <param name="message">The whole one-line message.</param>
    /// <param name="row">The one-based file row at fault, if any.</param>
    /// <param name="problem">The kind of problem.</param>
    /// <param name="reason">The message without its hint on how to read the file instead.</param>
    /// <param name="firstRowCells">The number of cells in the first row, when the problem concerns columns.</param>
    public SeriesCsvException(string message, int? row, SeriesCsvProblem problem, string reason, int? firstRowCells) : base(message)
    {
        Row = row;
        Problem = problem;
        Reason = reason;
        FirstRowCells = firstRowCells;
    }

    /// <summary>The one-based file row at fault (the header is row 1), when the problem is in a row.</summary>
    public int? Row { get; }

    /// <summary>The kind of problem.</summary>
    public SeriesCsvProblem Problem { get; }

    /// <summary>The message without its hint on how to read the file instead (the whole message when it has none).</summary>
    public string Reason { get; }

    /// <summary>The number of cells in the first row, when the problem concerns columns.</summary>
    public int? FirstRowCells { get; }
}
