using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary>
/// <c>rnnx evaluate</c>: a trained model's errors on the test part of a series (the same split and scaling as in
/// training), beside the naive and seasonal-naive baselines, with a plain warning when the model loses to one.
/// </summary>
internal static class EvaluateCommand
{
    /// <summary>Runs the command; every problem is a one-line <see cref="CliException"/>, raised before any file is written.</summary>
    public static void Run(EvaluateOptions o, TextWriter output, TextWriter error)
    {
        var guard = new PathGuard();
        guard.Input("--model", o.Model);
        guard.Input("--csv", o.Source.Csv, Limits.MaxCsvBytes);
        if (o.Json is not null) guard.Output("--json", o.Json);

        var info = ModelIO.Inspect(o.Model);
        var meta = ModelMetadata.Read(info.Metadata, o.Model)
            ?? throw new CliException($"{Path.GetFileName(o.Model)} has no 'rnnx train' metadata (window, scaling, split); evaluate a model trained by 'rnnx train'");
        if (meta.Test is not double test)
            throw new CliException($"{Path.GetFileName(o.Model)} was trained without a test part; train it again with this version of 'rnnx train' (--test)");
        var model = ModelIO.Load(o.Model, compile: false);
        var series = SeriesCsv.ReadFor(o.Source, meta);
        string column = series.Column;
        var values = series.Values;
        if (meta.Series is { } trained && trained.Sha256 != SeriesFingerprint.Of(values).Sha256)
            Cli.Warn(error, $"column '{column}' of {series.File} is not the series the model was trained on: its test part is the last {test:P0} of this series, and its first windows may have been seen in training");
        var setup = new ForecastSetup(meta.Window, meta.Horizon, meta.Scaling, meta.Validation ?? TrainOptions.DefaultValidation, test, o.Season ?? meta.Season,
            meta.Transform.Kind, meta.Transform.Kind == SeriesTransformKind.BoxCox ? meta.Transform.Lambda : null);
        ForecastData data;
        try
        {
            data = ForecastData.Prepare(values, setup, meta.Scaler, meta.Transform);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"{series.File}: column '{column}': {e.Message.Split(" (Parameter")[0]}");
        }
        var c = data.Evaluate(model);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Test part of column '{column}' of {series.File}: values {data.Split.ValidEnd + 1}..{data.Split.Length} ({c.Samples} windows of {meta.Window} -> {meta.Horizon}, {TrainCommand.Describe(data)})"));
        Report(c, column, output);
        if (o.Json is not null)
        {
            static JsonObject Errors(ForecastErrors e) => new() { ["mse"] = e.Mse, ["mae"] = e.Mae, ["mase"] = e.Mase };
            var doc = new JsonObject
            {
                ["model"] = Path.GetFileName(o.Model),
                ["csv"] = series.File,
                ["column"] = column,
                ["window"] = meta.Window,
                ["horizon"] = meta.Horizon,
                ["scaling"] = SeriesScaler.NameOf(meta.Scaling),
                ["transform"] = meta.Transform.Name,
                ["test_first_value"] = data.Split.ValidEnd + 1,
                ["test_windows"] = c.Samples,
                ["season"] = c.Season,
                ["model_errors"] = Errors(c.Model),
                ["naive"] = Errors(c.Naive),
                ["seasonal_naive"] = Errors(c.SeasonalNaive),
                ["loses_to_a_baseline"] = c.LosesToABaseline,
                ["verdict"] = c.Verdict(),
            };
            File.WriteAllText(o.Json, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            output.WriteLine($"Wrote {o.Json}");
        }
    }

    /// <summary>The test errors of the model and the baselines as a small table, then the verdict.</summary>
    public static void Report(ForecastComparison c, string column, TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Test errors in '{column}' units ({c.Samples} windows; MASE scaled by the training part's season-{c.Season} in-sample error):"));
        output.WriteLine("  forecast                    MSE          MAE     MASE");
        void Row(string name, ForecastErrors e) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-20} {e.Mse,12:G6} {e.Mae,12:G6} {e.Mase,8:F3}"));
        Row("model", c.Model);
        Row("naive", c.Naive);
        Row($"seasonal naive ({c.Season})", c.SeasonalNaive);
        output.WriteLine(c.Verdict());
    }
}
