using System.Globalization;
using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary>
/// <c>rnnx train</c>: standardize a CSV column with its training part's statistics, window it, train a forecaster,
/// and save it with everything <c>forecast</c> and <c>export</c> need (<see cref="ModelMetadata"/>), also in every
/// checkpoint; <c>--resume</c> continues from a checkpoint bit-exactly.
/// </summary>
internal static class TrainCommand
{
    /// <summary>Runs the command; every problem is a one-line <see cref="CliException"/>, raised before any file is written.</summary>
    public static void Run(TrainOptions o, TextWriter output, TextWriter error)
    {
        // 1. Every path, before any work.
        var guard = new PathGuard();
        guard.Input("--csv", o.Csv, Limits.MaxCsvBytes);
        if (o.Resume is not null) guard.Input("--resume", o.Resume);
        guard.Output("--save", o.Save);
        if (o.Log is not null) guard.Output("--log", o.Log);

        // 2. The settings: the options, or the checkpoint's when resuming.
        Checkpoint? resumed = null;
        ModelMetadata? saved = null;
        if (o.Resume is not null)
        {
            var info = ModelIO.Inspect(o.Resume);
            saved = ModelMetadata.Read(info.Metadata, o.Resume)
                ?? throw new CliException($"--resume '{o.Resume}' has no 'rnnx train' metadata; resume from a checkpoint written by 'rnnx train --checkpoint'");
            if (info.Epoch is null || !info.HasOptimizerState)
                throw new CliException($"--resume '{o.Resume}' is not a checkpoint (it holds no epoch count or optimizer state)");
        }
        string column = Same("--column", o.Column, saved?.Column) ?? throw new CliException("'train' needs --column; try 'rnnx train --help'");
        string arch = Same("--arch", o.Arch, saved?.Arch) ?? TrainOptions.DefaultArch;
        int window = Same("--window", o.Window, saved?.Window) ?? TrainOptions.DefaultWindow;
        int horizon = Same("--horizon", o.Horizon, saved?.Horizon) ?? TrainOptions.DefaultHorizon;
        int batch = Same("--batch-size", o.BatchSize, saved?.BatchSize) ?? TrainOptions.DefaultBatchSize;
        double validation = Same("--validation", o.Validation, saved?.Validation) ?? TrainOptions.DefaultValidation;
        double lr = Same("--learning-rate", o.LearningRate, saved?.LearningRate) ?? TrainOptions.DefaultLearningRate;
        int seed = Same("--seed", o.Seed, saved?.Seed) ?? TrainOptions.DefaultSeed;
        string? dateColumn = Same("--date-column", o.DateColumn, saved?.DateColumn);
        int epochs = o.Epochs ?? TrainOptions.DefaultEpochs;
        int threads = o.Threads ?? Math.Min(2, Environment.ProcessorCount);
        if (arch == "conv_rnn" && window < 4) throw new CliException("--arch conv_rnn needs --window of at least 4 (its first convolution spans 4 steps)");
        if (o.Resume is not null)
        {
            resumed = ModelIO.LoadCheckpoint(o.Resume);
            if (resumed.Epoch >= epochs)
                throw new CliException($"--resume '{o.Resume}' has already completed {resumed.Epoch} epoch(s); pass --epochs above {resumed.Epoch} (the epoch to stop at)");
        }
        int firstEpoch = resumed?.Epoch ?? 0;
        if (o.Checkpoint is not null) CheckpointPattern.Check(o.Checkpoint, firstEpoch + 1, epochs, guard);

        // 3. The data, with every size checked before anything is allocated for it.
        var series = SeriesCsv.Read(new SeriesSource(o.Csv, column, dateColumn, o.Fill, o.NoHeader));
        var values = series.Values;
        int needed = MinimumLength(window, horizon, validation);
        int trainCount = values.Length - (int)Math.Round(values.Length * validation);
        if (values.Length < needed)
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(o.Csv)}: column '{column}' has {values.Length} values; --window {window} and --horizon {horizon} with {validation:P0} kept for validation need at least {needed} rows"));
        long windowed = checked((long)(values.Length - horizon) * (window + horizon));
        if (windowed > Limits.MaxWindowedValues)
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"--window {window} and --horizon {horizon} over {values.Length} values make {windowed} windowed values, above the limit {Limits.MaxWindowedValues}; use a smaller --window"));
        var fingerprint = SeriesFingerprint.Of(values);
        if (saved?.Series is { } trainedOn && trainedOn.Sha256 != fingerprint.Sha256)
            Cli.Warn(error, $"the series differs from the one the checkpoint was trained on ({trainedOn.Count} values, hash {trainedOn.Sha256}; now {fingerprint.Count}, {fingerprint.Sha256}): this is fine-tuning, not a bit-exact continuation");
        var (mean, std) = saved is null ? Windowing.Statistics(values.AsSpan(0, trainCount)) : (saved.Mean, saved.Std);
        var scaled = values.Select(v => (float)((v - mean) / std)).ToArray();
        var (train, valid) = Windowing.MakeSplit(scaled, window, horizon, validation);

        var meta = new ModelMetadata
        {
            Column = column, Window = window, Horizon = horizon, Mean = mean, Std = std, Arch = arch, Source = Path.GetFileName(o.Csv),
            Validation = validation, BatchSize = batch, LearningRate = lr, Seed = seed, DateColumn = dateColumn, Frequency = series.Frequency,
            Fill = o.Fill, NoHeader = o.NoHeader, Series = saved?.Series ?? fingerprint,
        }.ToDictionary();

        // 4. The model: new, or the checkpoint's with its optimizer and shuffle state.
        var model = resumed?.Model ?? CreateModel(arch, window, horizon, seed);
        model.Threads = threads;
        if (resumed is null) model.Compile(new Nadam(lr), Losses.Loss.MeanSquaredError);
        var x = Tensor.FromArray(train.X, train.XShape);
        var y = Tensor.FromArray(train.Y, train.YShape);
        var xv = Tensor.FromArray(valid.X, valid.XShape);
        var yv = Tensor.FromArray(valid.Y, valid.YShape);
        string filled = series.Filled > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({series.Filled} filled)") : "";
        string resuming = resumed is null ? "" : string.Create(CultureInfo.InvariantCulture, $", resuming after epoch {firstEpoch}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training {arch} on column '{column}' of {Path.GetFileName(o.Csv)}: {values.Length} values{filled}, {train.Count} training and {valid.Count} validation windows of {window} -> {horizon}{resuming}"));
        var callbacks = new List<Callback> { new ProgressCallback(output, o.Interactive ? ProgressMode.Live : ProgressMode.Lines) };
        if (o.Patience is int p) callbacks.Add(new EarlyStopping(patience: p, restoreBestWeights: true));
        if (o.Checkpoint is not null)
        {
            callbacks.Add(new CheckpointPattern.Guard(o.Checkpoint, guard));
            callbacks.Add(new ModelCheckpoint(o.Checkpoint) { Metadata = meta });
        }
        if (o.Log is not null) callbacks.Add(new CSVLogger(o.Log, append: resumed is not null));
        var history = model.Fit(x, y, epochs, batch, validationData: (xv, yv), callbacks: callbacks, verbose: 0, initialEpoch: firstEpoch);

        double valMse = model.Evaluate(xv, yv, batch)["loss"];
        int done = firstEpoch + history.Epochs;
        model.Save(o.Save, new SaveOptions { Epoch = done, Metadata = meta });
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Saved {o.Save} ({model.CountParams()} parameters, {done} epochs{(history.StopReason is { } r ? ", " + r : "")}): validation MSE {valMse:G5} on standardized values, RMSE {Math.Sqrt(valMse) * std:G5} in '{column}' units"));
    }

    /// <summary>The option's value, or the checkpoint's; both given and different is an error.</summary>
    private static T? Same<T>(string option, T? given, T? saved) where T : struct
    {
        if (given is T g && saved is T s && !EqualityComparer<T>.Default.Equals(g, s))
            throw new CliException(string.Create(CultureInfo.InvariantCulture, $"{option} {g} differs from the checkpoint's {s}; leave it out when resuming"));
        return given ?? saved;
    }

    private static string? Same(string option, string? given, string? saved)
    {
        if (given is not null && saved is not null && given != saved)
            throw new CliException($"{option} '{CliOptions.Short(given)}' differs from the checkpoint's '{CliOptions.Short(saved)}'; leave it out when resuming");
        return given ?? saved;
    }

    /// <summary>The shortest series that trains with these sizes (both parts hold a window), in checked arithmetic.</summary>
    private static int MinimumLength(int window, int horizon, double validation)
    {
        int span = checked(window + horizon);   // both at most 100,000: no overflow, and the search below is short
        for (long n = span; n < int.MaxValue; n++)
        {
            long validCount = (long)Math.Round(n * validation);
            if (n - validCount >= span && validCount >= horizon) return (int)n;
        }
        return int.MaxValue;
    }

    /// <summary>The forecaster of an architecture name: (window, 1) inputs → (horizon) outputs.</summary>
    public static Sequential CreateModel(string arch, int window, int horizon, int seed)
    {
        Layer[] layers = arch switch
        {
            "linear" => [new Flatten(inputShape: [window, 1]), new Dense(horizon)],
            "simple_rnn" => [new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(horizon)],
            "lstm" => [new LSTM(20, returnSequences: true, inputShape: [null, 1]), new LSTM(20), new Dense(horizon)],
            "gru" => [new GRU(20, returnSequences: true, inputShape: [null, 1]), new GRU(20), new Dense(horizon)],
            "conv_rnn" => [new Conv1D(20, 4, strides: 2, padding: "valid", inputShape: [null, 1]), new GRU(20, returnSequences: true), new GRU(20), new Dense(horizon)],
            "wavenet" => WaveNet(window, horizon),
            _ => throw new CliException($"unknown --arch '{arch}'; architectures: {string.Join(", ", RnnxCommandLine.Architectures)}"),
        };
        return new Sequential(layers, arch, seed);
    }

    private static Layer[] WaveNet(int window, int horizon)
    {
        // The chapter's causal dilated stack, read out by a dense layer over the whole window.
        var layers = new List<Layer> { new InputLayer([window, 1]) };
        foreach (int rate in new[] { 1, 2, 4, 8, 1, 2, 4, 8 }) layers.Add(new Conv1D(20, 2, padding: "causal", activation: "relu", dilationRate: rate));
        layers.Add(new Conv1D(10, 1));
        layers.Add(new Flatten());
        layers.Add(new Dense(horizon));
        return [.. layers];
    }
}
