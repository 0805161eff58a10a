using Rnnx.Data;

namespace Rnnx.Cli;

/// <summary>A series read from a CSV column: values in time order, with their dates when a date column was given.</summary>
/// <param name="Values">The values (gaps filled as asked).</param>
/// <param name="Column">The column as given on the command line (its header, or its 1-based index without a header).</param>
/// <param name="Dates">The date of each value (UTC), or null.</param>
/// <param name="Frequency">The inferred spacing of the dates, or null.</param>
/// <param name="Filled">How many values were filled (empty cells and missing dates).</param>
/// <param name="Rows">The file row (1-based, the header being row 1) of each value.</param>
/// <param name="File">The CSV file's name, for messages.</param>
internal sealed record SeriesData(float[] Values, string Column, DateTime[]? Dates, Frequency? Frequency, int Filled, int[] Rows, string File)
{
    /// <summary>Refuses a value that <paramref name="transform"/> cannot take (log and Box–Cox need positive values), naming its row.</summary>
    public void CheckFor(SeriesTransformKind transform)
    {
        if (transform != SeriesTransformKind.None && SeriesTransform.FirstNotPositive(Values) is int i)
            throw new CliException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{File}: row {Rows[i]}, column '{Column}': {Values[i]} is not positive; the {SeriesTransform.NameOf(transform)} transform needs positive values (--transform none does not)"));
    }
}

/// <summary>
/// The command line's use of the library's <see cref="Rnnx.Data.SeriesCsv"/>: columns as the options give them (a
/// header name, or a 1-based index with <c>--no-header</c>), dates parsed, gaps filled per <c>--fill</c>, and its
/// messages completed with the options that fix them. The caller checks the file's kind and size first
/// (<see cref="PathGuard.Input"/>).
/// </summary>
internal static class SeriesCsv
{
    /// <summary>Reads the column (and dates) of <paramref name="source"/>; every problem is a one-line <see cref="CliException"/>.</summary>
    public static SeriesData Read(SeriesSource source)
    {
        var options = new SeriesCsvOptions
        {
            HasHeader = !source.NoHeader, Fill = source.Fill, ParseDates = true, ColumnLabel = "--column", DateColumnLabel = "--date-column",
        };
        string columnText = source.Column ?? throw new CliException("no --column given and the model names none; pass --column");
        CsvColumn column = ColumnOf(columnText, "--column", source.NoHeader);
        CsvColumn? dateColumn = source.DateColumn is { } d ? ColumnOf(d, "--date-column", source.NoHeader) : (CsvColumn?)null;
        try
        {
            var s = Rnnx.Data.SeriesCsv.Read(source.Csv, column, dateColumn, options);
            return new SeriesData(s.Values, columnText, s.Times?.Select(t => t.UtcDateTime).ToArray(), s.Frequency, s.Gaps, s.Rows, Path.GetFileName(source.Csv));
        }
        catch (SeriesCsvException e)
        {
            throw new CliException(e.Problem switch
            {
                SeriesCsvProblem.EmptyCell => $"{e.Reason} (use --fill previous or --fill linear to fill gaps)",
                SeriesCsvProblem.MissingDates => $"{e.Reason} (use --fill previous or --fill linear)",
                SeriesCsvProblem.LooksHeaderless => $"{e.Reason}; pass --no-header and name columns by 1-based index (1 to {e.FirstRowCells})",
                SeriesCsvProblem.NameWithoutHeader =>
                    $"{(IsIndex(columnText) ? "--date-column" : "--column")} '{CliOptions.Short(IsIndex(columnText) ? source.DateColumn! : columnText)}': "
                    + $"with --no-header, columns are named by 1-based index (1 to {e.FirstRowCells})",
                _ => e.Message,
            });
        }
    }

    /// <summary>
    /// Reads the series a saved model is applied to: the options' source with the model's column, date column and
    /// header setting where the options leave them out, refusing values the model's transform cannot take.
    /// </summary>
    public static SeriesData ReadFor(SeriesSource source, ModelMetadata? meta)
    {
        var withDefaults = source.WithModelDefaults(meta);
        if (withDefaults.Column is null) throw new CliException("no --column given and the model names none; pass --column");
        var series = Read(withDefaults);
        series.CheckFor(meta?.Transform.Kind ?? SeriesTransformKind.None);
        return series;
    }

    /// <summary>A column option: a header name, or with <c>--no-header</c> a 1-based index (anything else is left for the reader to refuse with the column count).</summary>
    private static CsvColumn ColumnOf(string text, string option, bool noHeader)
    {
        if (noHeader && StrictNumber.TryParseInt(text, out int index) && index >= 1) return CsvColumn.At(index - 1);
        if (string.IsNullOrWhiteSpace(text)) throw new CliException($"{option} is empty; name a column{(noHeader ? " by its 1-based index" : "")}");
        return CsvColumn.Named(text);
    }

    private static bool IsIndex(string text) => StrictNumber.TryParseInt(text, out int index) && index >= 1;
}
