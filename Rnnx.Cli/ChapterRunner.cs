using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Rnnx.Data;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Cli;

/// <summary>
/// The chapter 15 notebook as a pipeline: the data, the naive baseline, every model in the notebook's order with its
/// settings (Nadam defaults, batch 32, validation each epoch), the forecasts of the new series, the results table,
/// the plots and the JSON report.
/// </summary>
internal static class ChapterRunner
{
    private const int Horizon = ChapterData.Horizon;

    /// <summary>Runs the chapter with <paramref name="options"/>, writing progress and the table to <paramref name="output"/>.</summary>
    /// <exception cref="CliException">An unknown model name, or an output folder or JSON file that cannot be written.</exception>
    public static ChapterResult Run(ChapterOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var total = Stopwatch.StartNew();
        var w = output;
        var specs = SelectModels(options);

        // Fail before training, not after, when the results cannot be written.
        var guard = new PathGuard();
        string? jsonPath = options.JsonPath;
        if (jsonPath is not null) guard.Output("--json", jsonPath, folderMayBeCreated: true);
        if (options.Plots) guard.OutputFolder("--out", options.OutputDirectory, PlotNames(specs.Select(m => m.Name)));
        ChapterPlots? plots = options.Plots ? new ChapterPlots(CreateFolder(options.OutputDirectory, "--out")) : null;
        if (jsonPath is not null && Path.GetDirectoryName(Path.GetFullPath(jsonPath)) is { } jsonFolder) CreateFolder(jsonFolder, "--json");

        int threads = options.Threads ?? Math.Min(2, Environment.ProcessorCount);
        var machine = MachineInfo.Current(threads);
        w.WriteLine("rnnx chapter: Hands-On ML chapter 15, processing sequences using RNNs and CNNs");
        w.WriteLine(Invariant($"  models: {(specs.Count == 0 ? "(none)" : string.Join(", ", specs.Select(s => s.Name)))}"));
        w.WriteLine(Invariant($"  Nadam() defaults, batch {options.BatchSize}, seed {options.Seed}, epochs {(options.Epochs is int e ? e.ToString(CultureInfo.InvariantCulture) + " (override)" : "as in the notebook")}"));
        w.WriteLine(Invariant($"  {machine.ProcessorCount} processors, {threads} training thread(s), {machine.DotnetVersion}, {machine.Os}, Vector512 {(machine.Vector512Accelerated ? "accelerated" : "not accelerated")}"));
        w.WriteLine();

        // ---- one-step data, mock series, naive baseline
        var oneStep = ChapterData.OneStep();
        var newSeries = ChapterData.NewSeries();
        plots?.MockSeries(oneStep.MockSeries, oneStep.MockSeriesShape[0], oneStep.MockSeriesShape[1]);
        float naive = NaiveForecastMse(oneStep.Valid);
        w.WriteLine(Invariant($"Naive forecast (X_valid[:, -1]): validation MSE {naive} (notebook {ChapterModels.KerasNaiveMse})"));

        var result = new ChapterResult
        {
            NaiveBaseline = new BaselineResult { ValMse = naive, KerasValMse = ChapterModels.KerasNaiveMse },
            Seed = options.Seed,
            EpochsOverride = options.Epochs,
            BatchSize = options.BatchSize,
            Machine = machine,
        };

        // ---- one-step models, then the iterative forecast with the linear model
        float[] extendedSeries = newSeries.X;
        foreach (var spec in specs.Where(s => s.Task == ChapterTask.OneStep))
        {
            var (model, modelResult) = Train(spec, oneStep.Train, oneStep.Valid, options, threads, w, plots);
            result.Models.Add(modelResult);
            if (spec.Name == "linear")
            {
                (extendedSeries, float iterativeMse) = IterativeForecast(model, newSeries);
                result.IterativeForecastMse = iterativeMse;
                w.WriteLine(Invariant($"  iterative 10-step forecast of the new series: MSE {iterativeMse} against its true values"));
                plots?.Forecast("forecast_iterative_linear.png", "linear model, one step at a time", newSeries.X, newSeries.Y, extendedSeries[ChapterData.InputSteps..]);
            }
        }

        // ---- ten-step data: vector and sequence targets
        var tenStepSpecs = specs.Where(s => s.Task != ChapterTask.OneStep).ToList();
        if (tenStepSpecs.Count > 0)
        {
            var tenStep = ChapterData.TenStep();
            var xNew = Tensor.FromArray(newSeries.X, newSeries.XShape);
            foreach (var spec in tenStepSpecs)
            {
                var (train, valid) = spec.Task switch
                {
                    ChapterTask.TenStepVector => (tenStep.Train, tenStep.Valid),
                    ChapterTask.TenStepSequence => (tenStep.TrainSequence, tenStep.ValidSequence),
                    _ => (EveryOtherStepFrom3(tenStep.TrainSequence), EveryOtherStepFrom3(tenStep.ValidSequence)),
                };
                var (model, modelResult) = Train(spec, train, valid, options, threads, w, plots);
                result.Models.Add(modelResult);
                if (plots is null) continue;
                var yPred = model.Predict(xNew);
                float[] pred = yPred.ToFloatArray();
                switch (spec.Task)
                {
                    case ChapterTask.TenStepVector:
                        plots.Forecast($"forecast_{spec.Name}.png", spec.Name + ", 10 steps at once", newSeries.X, newSeries.Y, pred);
                        break;
                    case ChapterTask.TenStepSequence:
                        plots.SequenceForecast($"forecast_{spec.Name}.png", spec.Name, extendedSeries, pred, yPred.Shape[1], Horizon, (x, i) => x);
                        break;
                    default:
                        plots.SequenceForecast($"forecast_{spec.Name}.png", spec.Name, extendedSeries, pred, yPred.Shape[1], Horizon, (x, i) => x * 2 - i + 2);
                        break;
                }
            }
        }

        if (plots is not null) result.Plots.AddRange(plots.Written);
        result.TotalSeconds = total.Elapsed.TotalSeconds;

        w.WriteLine();
        w.Write(FormatTable(result));
        w.WriteLine(Invariant($"Total wall time: {ProgressCallback.FormatSeconds(result.TotalSeconds)}"));
        if (plots is not null) w.WriteLine(Invariant($"Plots: {plots.Written.Count} PNG files in {Path.GetDirectoryName(plots.Written.FirstOrDefault() ?? "") ?? ""}"));
        if (jsonPath is not null)
        {
            WriteJson(result, jsonPath);
            w.WriteLine($"JSON: {jsonPath}");
        }
        w.Flush();
        return result;
    }

    /// <summary>The models a run trains, in order: the notebook's (those named in <c>--only</c>), then the extras named in it.</summary>
    /// <exception cref="CliException">An unknown model name.</exception>
    public static List<ModelSpec> SelectModels(ChapterOptions options)
    {
        foreach (var name in options.Only ?? [])
            if (!ChapterModels.AllNames.Contains(name))
                throw new CliException($"unknown model '{name}'; models: {string.Join(", ", ChapterModels.AllNames)}");
        var candidates = options.Only is null ? ChapterModels.All : ChapterModels.All.Concat(ChapterModels.Extras);
        return candidates.Where(m => options.Includes(m.Name)).ToList();
    }

    /// <summary><c>np.mean(mse(y_valid, X_valid[:, -1]))</c>: the last input value as the forecast.</summary>
    public static float NaiveForecastMse(DataSplit valid)
    {
        int n = valid.Count, steps = valid.XShape[1];
        var last = new float[n];
        for (int i = 0; i < n; i++) last[i] = valid.X[i * steps + steps - 1];
        return KerasMath.MeanSquaredError(valid.Y, last, 1);
    }

    private static (Model Model, ModelResult Result) Train(ModelSpec spec, DataSplit train, DataSplit valid, ChapterOptions options,
        int threads, TextWriter w, ChapterPlots? plots)
    {
        int epochs = options.Epochs ?? spec.NotebookEpochs;
        var model = spec.CreateModel(options.Seed);
        model.Threads = threads;
        Metric[] metrics = spec.UsesLastTimeStepMse ? [ChapterModels.LastTimeStepMse()] : [];
        model.Compile(new Nadam(schedule: options.NadamSchedule), Loss.MeanSquaredError, metrics);
        model.Build();
        int parameters = model.CountParams();
        w.WriteLine();
        w.WriteLine(Invariant($"{spec.Name}: {parameters} parameters, {epochs} epoch(s), {train.Count} training / {valid.Count} validation samples"));
        w.Flush();

        var xTrain = Tensor.FromArray(train.X, train.XShape);
        var yTrain = Tensor.FromArray(train.Y, train.YShape);
        var xValid = Tensor.FromArray(valid.X, valid.XShape);
        var yValid = Tensor.FromArray(valid.Y, valid.YShape);
        var clock = Stopwatch.StartNew();
        var progress = new ProgressCallback(w, options.Progress);
        History history;
        try
        {
            history = model.Fit(xTrain, yTrain, epochs, options.BatchSize, shuffle: true, validationData: (xValid, yValid),
                callbacks: [progress], verbose: 0);
        }
        catch (TrainingDivergedException e)
        {
            progress.Interrupt();
            throw new CliException($"{spec.Name}: {e.Message}", Cli.ExitError);
        }
        catch
        {
            progress.Interrupt();
            throw;
        }
        double seconds = clock.Elapsed.TotalSeconds;

        float[] pred = model.Predict(xValid).ToFloatArray();
        int lastDim = valid.YShape[^1];
        float valMse = KerasMath.MeanSquaredError(valid.Y, pred, lastDim);
        float? lastStep = spec.UsesLastTimeStepMse
            ? KerasMath.LastTimeStepMse(valid.Y, pred, valid.Count, valid.YShape[1], lastDim)
            : null;
        var line = new StringBuilder(Invariant($"  validation MSE {valMse} ({(spec.KerasValMse is float k ? "notebook " + k.ToString(CultureInfo.InvariantCulture) : "not in the notebook")})"));
        if (lastStep is float ls) line.Append(Invariant($", last_time_step_mse {ls}"));
        line.Append(Invariant($", trained in {ProgressCallback.FormatSeconds(seconds)}"));
        w.WriteLine(line.ToString());

        var (batch1Us, validMs) = TimeInference(model, xValid);

        var series = history.Keys.Select(k => (k, history[k])).ToList();
        plots?.LearningCurves(spec.Name, series);
        var result = new ModelResult
        {
            Name = spec.Name,
            Params = parameters,
            Epochs = history.Epochs,
            ValMse = valMse,
            LastStepMse = lastStep,
            KerasValMse = spec.KerasValMse,
            Loss = [.. history["loss"]],
            ValLoss = history.Contains("val_loss") ? [.. history["val_loss"]] : [],
            Metrics = history.Keys.Where(k => k is not "loss" and not "val_loss").ToDictionary(k => k, k => history[k].ToList()),
            EpochSeconds = [.. history.EpochSeconds],
            TrainingSeconds = seconds,
            MeanEpochSeconds = history.Epochs > 1 ? history.TrainingSeconds.Skip(1).Average() : history.TrainingSeconds.FirstOrDefault(),
            PredictBatch1Us = batch1Us,
            PredictValidationMs = validMs,
        };
        return (model, result);
    }

    /// <summary>
    /// Inference latency as the libtorch peer measures it: one series held as a float[] (50 steps) through Predict,
    /// median of 300 calls after 30 warm-up calls, in µs; and the whole validation set in one Predict call (one batch), median of
    /// 5 after one warm-up, in ms.
    /// </summary>
    private static (double Batch1Us, double ValidationMs) TimeInference(Model model, Tensor xValid)
    {
        int steps = xValid.Shape[1], features = xValid.Shape[2];
        var one = xValid.ToFloatArray().AsSpan(0, steps * features).ToArray();
        var times = new double[300];
        for (int i = 0; i < 30; i++) model.Predict(one, 1, steps, features);
        for (int i = 0; i < times.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            model.Predict(one, 1, steps, features);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        Array.Sort(times);
        double batch1 = times[times.Length / 2];
        var big = new double[5];
        int n = xValid.Shape[0];
        model.Predict(xValid, batchSize: n);
        for (int i = 0; i < big.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            model.Predict(xValid, batchSize: n);
            big[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(big);
        return (batch1, big[big.Length / 2]);
    }

    /// <summary>
    /// The notebook's loop: <c>X = X_new; for step_ahead in range(10): X = concat(X, model.predict(X[:, step_ahead:]))</c>
    /// with the linear model trained on 50-step windows.
    /// </summary>
    /// <returns>The extended series (60 steps) and the MSE of its last 10 steps against the true values.</returns>
    public static (float[] Series, float Mse) IterativeForecast(Model model, DataSplit newSeries)
    {
        int steps = newSeries.XShape[1];
        var x = new List<float>(newSeries.X);
        for (int stepAhead = 0; stepAhead < Horizon; stepAhead++)
        {
            var window = x.GetRange(stepAhead, x.Count - stepAhead).ToArray();
            float next = model.Predict(Tensor.FromArray(window, 1, window.Length, 1)).ToFloatArray()[0];
            x.Add(next);
        }
        var series = x.ToArray();
        float mse = KerasMath.MeanSquaredError(newSeries.Y, series.AsSpan(steps), 1);
        return (series, mse);
    }

    /// <summary>The training and validation data of a task (the notebook's splits; used by the benchmarks).</summary>
    public static (DataSplit Train, DataSplit Valid) LoadData(ChapterTask task)
    {
        if (task == ChapterTask.OneStep)
        {
            var one = ChapterData.OneStep();
            return (one.Train, one.Valid);
        }
        var ten = ChapterData.TenStep();
        return task switch
        {
            ChapterTask.TenStepVector => (ten.Train, ten.Valid),
            ChapterTask.TenStepSequence => (ten.TrainSequence, ten.ValidSequence),
            _ => (EveryOtherStepFrom3(ten.TrainSequence), EveryOtherStepFrom3(ten.ValidSequence)),
        };
    }

    /// <summary>The sequence targets every second step from step 3 (<c>Y[:, 3::2]</c>) for the strided Conv1D model.</summary>
    private static DataSplit EveryOtherStepFrom3(DataSplit split)
    {
        var y = Tensor.Slice(Tensor.FromArray(split.Y, split.YShape), 1, 3, null, 2);
        return split with { Y = y.ToFloatArray(), YShape = [y.Shape[0], y.Shape[1], y.Shape[2]] };
    }

    /// <summary>The results table: model, parameters, validation MSE beside the notebook's, last-step MSE, epochs, training time.</summary>
    public static string FormatTable(ChapterResult r)
    {
        string[] header = ["model", "params", "val MSE", "Keras (notebook)", "ratio", "last-step MSE", "epochs", "train time", "s/epoch", "predict(1)"];
        var rows = new List<string[]>
        {
            new[] { "naive", "-", F(r.NaiveBaseline.ValMse), F(r.NaiveBaseline.KerasValMse), Ratio(r.NaiveBaseline.ValMse, r.NaiveBaseline.KerasValMse), "-", "-", "-", "-", "-" },
        };
        foreach (var m in r.Models)
            rows.Add([m.Name, m.Params.ToString(CultureInfo.InvariantCulture), F(m.ValMse), m.KerasValMse is float k ? F(k) : "-", m.KerasValMse is float kr ? Ratio(m.ValMse, kr) : "-",
                m.LastStepMse is float l ? F(l) : "-", m.Epochs.ToString(CultureInfo.InvariantCulture), ProgressCallback.FormatSeconds(m.TrainingSeconds),
                m.MeanEpochSeconds.ToString("F3", CultureInfo.InvariantCulture), m.PredictBatch1Us.ToString("F0", CultureInfo.InvariantCulture) + " µs"]);
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(row => row[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Row(string[] cells)
        {
            for (int i = 0; i < cells.Length; i++)
            {
                if (i > 0) sb.Append("  ");
                sb.Append(i == 0 ? cells[i].PadRight(widths[i]) : cells[i].PadLeft(widths[i]));
            }
            sb.Append('\n');
        }
        Row(header);
        sb.Append(string.Join("  ", widths.Select(wd => new string('-', wd)))).Append('\n');
        foreach (var row in rows) Row(row);
        return sb.ToString();

        // A model beyond the notebook has no Keras value (NaN): "-" rather than "NaN".
        static string F(float v) => float.IsNaN(v) ? "-" : v.ToString(CultureInfo.InvariantCulture);
        static string Ratio(float v, float reference) => float.IsNaN(reference) ? "-" : (v / reference).ToString("F2", CultureInfo.InvariantCulture) + "x";
    }

    private static void WriteJson(ChapterResult result, string path)
    {
        try
        {
            File.WriteAllText(path, JsonSerializer.Serialize(result, ChapterJsonContext.Default.ChapterResult) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot write the JSON report '{path}': {e.Message}", Cli.ExitError);
        }
    }

    /// <summary>Every file name the plots may take (checked against the other paths before any work).</summary>
    private static IEnumerable<string> PlotNames(IEnumerable<string> models)
    {
        yield return "mock_series.png";
        yield return "forecast_iterative_linear.png";
        foreach (var m in models)
        {
            yield return $"learning_curves_{m}.png";
            yield return $"forecast_{m}.png";
        }
    }

    private static string CreateFolder(string directory, string option)
    {
        try
        {
            return Directory.CreateDirectory(Path.GetFullPath(directory)).FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option}: cannot create the folder '{directory}' ({e.Message})");
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
