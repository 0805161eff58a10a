using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rnnx.Data;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary>
/// <c>rnnx forecast</c>: the steps after the end of a CSV column, from its last window, with the model's saved
/// scaling; dated past the end of the data when the series has dates; a warning when the series looks unlike the
/// training series.
/// </summary>
internal static class ForecastCommand
{
    /// <summary>Runs the command; every problem is a one-line <see cref="CliException"/>, raised before any file is written.</summary>
    public static void Run(ForecastOptions o, TextWriter output, TextWriter error)
    {
        var guard = new PathGuard();
        guard.Input("--model", o.Model);
        guard.Input("--csv", o.Source.Csv, Limits.MaxCsvBytes);
        if (o.Plot is not null) guard.Output("--plot", o.Plot);
        if (o.Json is not null) guard.Output("--json", o.Json);

        var info = ModelIO.Inspect(o.Model);
        var meta = ModelMetadata.Read(info.Metadata, o.Model);
        var model = ModelIO.Load(o.Model, compile: false);
        if (meta is not null && o.Window is int w && w != meta.Window)
            throw new CliException($"--window {w} differs from the model's window {meta.Window}; leave it out");
        int window = meta?.Window ?? o.Window ?? (model.InputShape is [int fixedLength, ..] ? fixedLength : 0);
        if (window <= 0) throw new CliException("the model does not say its window (it was not trained by 'rnnx train'); pass --window N");
        if (meta is null)
            Cli.Warn(error, $"{Path.GetFileName(o.Model)} has no 'rnnx train' metadata: values are fed and returned unscaled");
        var scaler = meta?.Scaler;
        int lookback = scaler?.Lookback ?? 0;
        var series = SeriesCsv.ReadFor(o.Source, meta);
        var transform = meta?.Transform ?? SeriesTransform.None;
        string column = series.Column;
        var values = series.Values;
        if (values.Length < window + lookback)
            throw new CliException($"{series.File}: column '{column}' has {values.Length} values; the model reads the last {window + lookback} (its window{(lookback > 0 ? " and the value before it" : "")}), so it needs at least {window + lookback} rows");
        if (meta?.Series is { } trained && trained.Unlike(SeriesFingerprint.Of(values)) is { } why)
            Cli.Warn(error, $"column '{column}' of {series.File} looks unlike the series the model was trained on: {why}; the forecast may be meaningless");
        if (meta is not null && column != meta.Column)
            Cli.Warn(error, $"the model was trained on column '{meta.Column}', not '{column}'");

        var history = transform.Apply(values[^(window + lookback)..]);
        var last = new float[window];
        if (scaler is null) history.CopyTo(last);
        else scaler.Transform(history, last, []);
        var pred = model.Predict(Tensor.FromArray(last, 1, window, 1));
        var flat = pred.ToFloatArray();
        int k = pred.Shape.Last;   // a sequence output: its last step
        var forecast = flat[^k..];
        scaler?.Inverse(history, forecast.ToArray(), forecast);
        transform.Inverse(forecast);
        var frequency = series.Frequency ?? meta?.Frequency;
        DateTime?[] dates = series.Dates is { } d && frequency is not null
            ? Enumerable.Range(1, forecast.Length).Select(i => frequency.After(d[^1], i)).ToArray()
            : new DateTime?[forecast.Length];

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Forecast of '{column}' after {(series.Dates is { } sd ? $"{Iso(sd[^1])} ({frequency!.Name})" : $"row {values.Length + 1}")} ({values.Length} values), {forecast.Length} step(s) ahead:"));
        for (int i = 0; i < forecast.Length; i++)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(dates[i] is { } di ? Iso(di) : $"t+{i + 1}")}: {forecast[i]:G7}"));
        if (o.Plot is not null)
        {
            string title = $"{column}: {forecast.Length}-step forecast ({meta?.Arch ?? model.Name})";
            ForecastPlot.Save(o.Plot, title, values, forecast, 4 * window, series.Dates, dates);
            output.WriteLine($"Wrote {o.Plot}");
        }
        if (o.Json is not null)
        {
            var doc = new JsonObject
            {
                ["model"] = Path.GetFileName(o.Model),
                ["csv"] = series.File,
                ["column"] = column,
                ["rows"] = values.Length,
                ["window"] = window,
                ["horizon"] = forecast.Length,
                ["forecast"] = new JsonArray(forecast.Select(v => (JsonNode?)JsonValue.Create((double)v)).ToArray()),
            };
            if (series.Dates is { } dd && frequency is not null)
            {
                doc["last_date"] = Iso(dd[^1]);
                doc["frequency"] = frequency.Name;
                doc["dates"] = new JsonArray(dates.Select(x => (JsonNode?)JsonValue.Create(x is { } t ? Iso(t) : null)).ToArray());
            }
            File.WriteAllText(o.Json, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            output.WriteLine($"Wrote {o.Json}");
        }
    }

    /// <summary>ISO 8601: the date alone at midnight, else date and time.</summary>
    internal static string Iso(DateTime d) =>
        d.TimeOfDay == TimeSpan.Zero ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : d.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
}
