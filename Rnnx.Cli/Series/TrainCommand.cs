using System.Globalization;
using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary>
/// <c>rnnx train</c>: transform (optionally) and scale a CSV column with its training part's statistics, window it,
/// train a forecaster with early stopping on the validation part, and save it with everything <c>forecast</c>,
/// <c>evaluate</c> and <c>export</c> need (<see cref="ModelMetadata"/>), also in every checkpoint with the early
/// stopping state; <c>--resume</c> continues from a checkpoint bit-exactly.
/// </summary>
internal static class TrainCommand
{
    /// <summary>Runs the command; every problem is a one-line <see cref="CliException"/>, raised before any file is written.</summary>
    public static void Run(TrainOptions o, TextWriter output, TextWriter error)
    {
        // 1. Every path, before any work.
        var guard = new PathGuard();
        guard.Input("--csv", o.Source.Csv, Limits.MaxCsvBytes);
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
        string column = Same("--column", o.Source.Column, saved?.Column) ?? throw new CliException("'train' needs --column; try 'rnnx train --help'");
        string arch = Same("--arch", o.Arch, saved?.Arch) ?? TrainOptions.DefaultArch;
        int window = Same("--window", o.Window, saved?.Window) ?? TrainOptions.DefaultWindow;
        int horizon = Same("--horizon", o.Horizon, saved?.Horizon) ?? TrainOptions.DefaultHorizon;
        int batch = Same("--batch-size", o.BatchSize, saved?.BatchSize) ?? TrainOptions.DefaultBatchSize;
        double validation = Same("--validation", o.Validation, saved?.Validation) ?? TrainOptions.DefaultValidation;
        double lr = Same("--learning-rate", o.LearningRate, saved?.LearningRate) ?? TrainOptions.DefaultLearningRate;
        int seed = Same("--seed", o.Seed, saved?.Seed) ?? TrainOptions.DefaultSeed;
        string? dateColumn = Same("--date-column", o.Source.DateColumn, saved?.DateColumn);
        double test = Same("--test", o.Test, saved?.Test) ?? TrainOptions.DefaultTest;
        var scaling = Same("--scaling", o.Scaling, saved?.Scaling) ?? TrainOptions.DefaultScaling;
        int? season = Same("--season", o.Season, saved?.Season);
        var transformKind = Same("--transform", o.Transform, saved?.Transform.Kind) ?? SeriesTransformKind.None;
        double? lambda = Same("--box-cox-lambda", o.Lambda, saved?.Transform.Kind == SeriesTransformKind.BoxCox ? saved.Transform.Lambda : null);
        if (lambda is not null && transformKind != SeriesTransformKind.BoxCox)
            throw new CliException($"--box-cox-lambda is for --transform box-cox, not {SeriesTransform.NameOf(transformKind)}");
        if (o.NoEarlyStopping && o.Patience is not null)
            throw new CliException("--patience and --no-early-stopping contradict each other; pass one of them");
        if (o.NoEarlyStopping && saved?.EarlyStopping == true)
            throw new CliException("--no-early-stopping: the checkpoint was trained with early stopping; leave it out when resuming");
        bool earlyStopping = !o.NoEarlyStopping && (saved?.EarlyStopping ?? true);
        int patience = Same("--patience", o.Patience, saved?.Patience) ?? TrainOptions.DefaultPatience;
        if (!earlyStopping && o.Patience is not null)
            throw new CliException("--patience: the checkpoint was trained without early stopping; leave --patience out when resuming");
        if (validation + test > 0.9)
            throw new CliException(string.Create(CultureInfo.InvariantCulture, $"--validation {validation} and --test {test} leave {(1 - validation - test) * 100:F0}% of the series for training; keep their sum at most 0.9"));
        int epochs = o.Epochs ?? TrainOptions.DefaultEpochs;
        int threads = o.Threads ?? Math.Min(2, Environment.ProcessorCount);
        if (window < ForecastModels.MinimumWindow(arch))
            throw new CliException($"--arch {arch} needs --window of at least {ForecastModels.MinimumWindow(arch)} (its first convolution spans 4 steps)");
        if (o.Resume is not null)
        {
            resumed = ModelIO.LoadCheckpoint(o.Resume);
            if (resumed.Epoch >= epochs)
                throw new CliException($"--resume '{o.Resume}' has already completed {resumed.Epoch} epoch(s); pass --epochs above {resumed.Epoch} (the epoch to stop at)");
        }
        int firstEpoch = resumed?.Epoch ?? 0;
        if (o.Checkpoint is not null) CheckpointPattern.Check(o.Checkpoint, firstEpoch + 1, epochs, guard);

        // 3. The data: split in time order (train / validation / test), scaled with the training part's statistics
        //    (or the checkpoint's), cut into windows on the fly (memory grows with the series, not series x window).
        var series = SeriesCsv.Read(o.Source with { Column = column, DateColumn = dateColumn });
        var values = series.Values;
        var transform = saved?.Transform ?? (transformKind switch
        {
            SeriesTransformKind.Log => SeriesTransform.Log,
            SeriesTransformKind.BoxCox when lambda is double l => SeriesTransform.BoxCox(l),
            _ => null,   // none, or box-cox estimated on the training part by Prepare
        });
        series.CheckFor(transformKind);
        var fingerprint = SeriesFingerprint.Of(values);
        if (saved?.Series is { } trainedOn && trainedOn.Sha256 != fingerprint.Sha256)
            Cli.Warn(error, $"the series differs from the one the checkpoint was trained on ({trainedOn.Count} values, hash {trainedOn.Sha256}; now {fingerprint.Count}, {fingerprint.Sha256}): this is fine-tuning, not a bit-exact continuation");
        var setup = new ForecastSetup(window, horizon, scaling, validation, test, season, transformKind, lambda);
        ForecastData data;
        try
        {
            data = ForecastData.Prepare(values, setup, saved?.Scaler, transform);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"{series.File}: column '{column}': {e.Message.Split(" (Parameter")[0]} Use a smaller --window/--horizon or a longer series.");
        }

        var meta = new ModelMetadata
        {
            Column = column, Window = window, Horizon = horizon, Mean = data.Scaler.Center, Std = data.Scaler.Scale, Scaling = scaling, Arch = arch,
            Transform = data.Transform, EarlyStopping = earlyStopping, Patience = earlyStopping ? patience : null,
            Source = Path.GetFileName(o.Source.Csv), Validation = validation, Test = test, Season = data.Season, BatchSize = batch, LearningRate = lr, Seed = seed,
            DateColumn = dateColumn, Frequency = series.Frequency, Fill = o.Source.Fill, NoHeader = o.Source.NoHeader, Series = saved?.Series ?? fingerprint,
        }.ToDictionary();

        // 4. The model: new, or the checkpoint's with its optimizer and shuffle state.
        var model = resumed?.Model ?? ForecastModels.Create(arch, window, horizon, seed);
        model.Threads = threads;
        if (resumed is null) model.Compile(new Nadam(lr), Losses.Loss.MeanSquaredError);
        string filled = series.Filled > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({series.Filled} filled)") : "";
        string resuming = resumed is null ? "" : string.Create(CultureInfo.InvariantCulture, $", resuming after epoch {firstEpoch}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training {arch} on column '{column}' of {Path.GetFileName(o.Source.Csv)}: {values.Length} values{filled}, {data.Train.Count} training, {data.Valid?.Count ?? 0} validation and {data.Test.Count} test windows of {window} -> {horizon}, {Describe(data)}{resuming}"));
        var callbacks = new List<Callback> { new ProgressCallback(output, o.Interactive ? ProgressMode.Live : ProgressMode.Lines) };
        var states = new List<ICheckpointedCallback>();
        if (earlyStopping) states.Add(new EarlyStopping(patience: patience, restoreBestWeights: true));
        if (resumed is not null)
        {
            try
            {
                CheckpointedCallbacks.Restore(resumed.Metadata, model, states);
            }
            catch (FormatException e)
            {
                throw new CliException($"--resume '{o.Resume}': {e.Message}; the file was not written by this version of 'rnnx train' or was altered");
            }
        }
        if (!model.IsBuilt) model.Build();
        if (earlyStopping && CheckpointedCallbacks.EstimatedStateChars(model) > CheckpointedCallbacks.MaxStateChars)
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"the model has {model.CountParams()} parameters: too many to keep early stopping's best weights in its files; pass --no-early-stopping (or a smaller --window/--horizon)"));
        callbacks.AddRange(states.Cast<Callback>());
        if (o.Checkpoint is not null)
        {
            callbacks.Add(new CheckpointPattern.Guard(o.Checkpoint, guard));
            callbacks.Add(new ModelCheckpoint(o.Checkpoint) { Metadata = meta, States = states });
        }
        if (o.Log is not null) callbacks.Add(new CSVLogger(o.Log, append: resumed is not null));
        var history = model.Fit(data.Train, epochs, batch, validationData: data.Valid, callbacks: callbacks, verbose: 0, initialEpoch: firstEpoch);

        int done = firstEpoch + history.Epochs;
        var finalMeta = new Dictionary<string, string>(meta);
        foreach (var (k, v) in CheckpointedCallbacks.Save(states)) finalMeta[k] = v;
        model.Save(o.Save, new SaveOptions { Epoch = done, Metadata = finalMeta });
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Saved {o.Save} ({model.CountParams()} parameters, {done} epochs{(history.StopReason is { } r ? ", " + r : "")})"));
        // 5. The test part, seen for the first time: the model beside the naive and seasonal-naive baselines.
        EvaluateCommand.Report(data.Evaluate(model), column, output);
    }

    /// <summary>The scaling, after the transform when there is one: "last_value scaling", "log transform, last_value scaling".</summary>
    internal static string Describe(ForecastData data) =>
        (data.Transform.Kind == SeriesTransformKind.None ? "" : data.Transform + " transform, ") + SeriesScaler.NameOf(data.Setup.Scaling) + " scaling";

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
}
