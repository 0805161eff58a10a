using Rnnx.Data;

namespace Rnnx.Cli;

/// <summary>The documented limits of the command line's sizes (each checked by the parser with a message naming it).</summary>
internal static class Limits
{
    /// <summary>Largest --window.</summary>
    public const int MaxWindow = 100_000;

    /// <summary>Largest --horizon.</summary>
    public const int MaxHorizon = 100_000;

    /// <summary>Largest --batch-size.</summary>
    public const int MaxBatchSize = 1_000_000;

    /// <summary>Largest --epochs.</summary>
    public const int MaxEpochs = 1_000_000;

    /// <summary>Largest --threads.</summary>
    public const int MaxThreads = 1024;

    /// <summary>Largest --patience.</summary>
    public const int MaxPatience = 1_000_000;

    /// <summary>Largest CSV input, in bytes (1 GiB).</summary>
    public const long MaxCsvBytes = 1L << 30;
}

/// <summary>
/// Where a series comes from: a CSV file, its value column, and how to read it (the options <c>--csv</c>,
/// <c>--column</c>, <c>--date-column</c>, <c>--fill</c>, <c>--no-header</c> of train, forecast and evaluate).
/// </summary>
/// <param name="Csv">The CSV file.</param>
/// <param name="Column">The value column: a header name, or a 1-based index with <paramref name="NoHeader"/>; null until a model or checkpoint supplies it.</param>
/// <param name="DateColumn">The date column, or null when rows are not dated.</param>
/// <param name="Fill">How empty cells are filled.</param>
/// <param name="NoHeader">The file has no header row; columns are named by 1-based index.</param>
internal sealed record SeriesSource(string Csv, string? Column, string? DateColumn = null, FillMode Fill = FillMode.None, bool NoHeader = false)
{
    /// <summary>
    /// This source with a saved model's settings where the options left them out: its column and date column, and
    /// no header when it was trained without one.
    /// </summary>
    public SeriesSource WithModelDefaults(ModelMetadata? meta) => meta is null ? this : this with
    {
        Column = Column ?? meta.Column,
        DateColumn = DateColumn ?? meta.DateColumn,
        NoHeader = NoHeader || meta.NoHeader,
    };
}

/// <summary>The settings of <c>rnnx train</c>; null sizes take their default (or, when resuming, the checkpoint's).</summary>
internal sealed record TrainOptions
{
    /// <summary>Default --arch: with last-value scaling, it beats both baselines on the real series of docs/forecasting.md.</summary>
    public const string DefaultArch = "gru";

    /// <summary>Default --scaling: last-value normalization, which survives trends and level shifts.</summary>
    public const SeriesScaling DefaultScaling = SeriesScaling.LastValue;

    /// <summary>Default --test.</summary>
    public const double DefaultTest = 0.2;

    /// <summary>Default --window.</summary>
    public const int DefaultWindow = 50;

    /// <summary>Default --horizon.</summary>
    public const int DefaultHorizon = 10;

    /// <summary>Default --epochs: an upper bound, since early stopping (<see cref="DefaultPatience"/>) usually ends training sooner.</summary>
    public const int DefaultEpochs = 100;

    /// <summary>Default --patience: stop after 10 epochs without a better val_loss and keep the best weights.</summary>
    public const int DefaultPatience = 10;

    /// <summary>Default --batch-size.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>Default --validation.</summary>
    public const double DefaultValidation = 0.2;

    /// <summary>Default --learning-rate.</summary>
    public const double DefaultLearningRate = 0.001;

    /// <summary>Default --seed.</summary>
    public const int DefaultSeed = 42;

    /// <summary>The series (its column and date column may come from the checkpoint when resuming).</summary>
    public required SeriesSource Source { get; init; }

    /// <summary>Where the model is saved.</summary>
    public required string Save { get; init; }

    /// <summary>The architecture name.</summary>
    public string? Arch { get; init; }

    /// <summary>Input steps.</summary>
    public int? Window { get; init; }

    /// <summary>Steps forecast at once.</summary>
    public int? Horizon { get; init; }

    /// <summary>Total epochs (when resuming, the epoch to stop at, as Keras's <c>epochs</c> with <c>initial_epoch</c>).</summary>
    public int? Epochs { get; init; }

    /// <summary>Batch size.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Share of the series kept for validation.</summary>
    public double? Validation { get; init; }

    /// <summary>Nadam's learning rate.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Share of the series (at its end) kept for the final test report.</summary>
    public double? Test { get; init; }

    /// <summary>The scaling of inputs and targets.</summary>
    public SeriesScaling? Scaling { get; init; }

    /// <summary>The seasonal-naive baseline's season, or null to detect it.</summary>
    public int? Season { get; init; }

    /// <summary>Early-stopping patience, or null for the default (or the checkpoint's).</summary>
    public int? Patience { get; init; }

    /// <summary>Train every epoch, without early stopping.</summary>
    public bool NoEarlyStopping { get; init; }

    /// <summary>The transform of the values before scaling, or null for none (or the checkpoint's).</summary>
    public SeriesTransformKind? Transform { get; init; }

    /// <summary>Box–Cox's λ, or null to estimate it on the training part.</summary>
    public double? Lambda { get; init; }

    /// <summary>Checkpoint path pattern, or null.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Per-epoch CSV log, or null.</summary>
    public string? Log { get; init; }

    /// <summary>Seed of weights and shuffles.</summary>
    public int? Seed { get; init; }

    /// <summary>Training threads, or null for up to 2.</summary>
    public int? Threads { get; init; }

    /// <summary>A checkpoint to continue from, or null.</summary>
    public string? Resume { get; init; }

    /// <summary>Whether the output is a terminal (live progress).</summary>
    public bool Interactive { get; init; }
}

/// <summary>The settings of <c>rnnx forecast</c>.</summary>
internal sealed record ForecastOptions
{
    /// <summary>The model file.</summary>
    public required string Model { get; init; }

    /// <summary>The series (column and date column default to the model's).</summary>
    public required SeriesSource Source { get; init; }

    /// <summary>The PNG plot, or null.</summary>
    public string? Plot { get; init; }

    /// <summary>The JSON output, or null.</summary>
    public string? Json { get; init; }

    /// <summary>The window, for a model that does not record it.</summary>
    public int? Window { get; init; }
}

/// <summary>The settings of <c>rnnx evaluate</c>.</summary>
internal sealed record EvaluateOptions
{
    /// <summary>The model file.</summary>
    public required string Model { get; init; }

    /// <summary>The series (column and date column default to the model's).</summary>
    public required SeriesSource Source { get; init; }

    /// <summary>The seasonal-naive baseline's season, or null for the model's (or detection).</summary>
    public int? Season { get; init; }

    /// <summary>The JSON report, or null.</summary>
    public string? Json { get; init; }
}

/// <summary>The settings of <c>rnnx export</c>.</summary>
/// <param name="Model">The model file.</param>
/// <param name="Onnx">The ONNX output.</param>
/// <param name="NoStandardization">Leave the standardization out of the graph.</param>
internal sealed record ExportOptions(string Model, string Onnx, bool NoStandardization);
