namespace Rnnx.Cli;

/// <summary>How training progress is shown.</summary>
internal enum ProgressMode
{
    /// <summary>One plain line per epoch (for redirected output and tests).</summary>
    Lines,

    /// <summary>A live, redrawn progress line per epoch (bar, batch count, running loss, ETA), then the epoch's line.</summary>
    Live,

    /// <summary>No per-epoch output.</summary>
    None,
}

/// <summary>Settings of one <c>rnnx chapter</c> run.</summary>
internal sealed record ChapterOptions
{
    /// <summary>The models to train (canonical names), or null for all of them. The naive baseline always runs.</summary>
    public IReadOnlyList<string>? Only { get; init; }

    /// <summary>Overrides every model's epoch count, or null for the notebook's.</summary>
    public int? Epochs { get; init; }

    /// <summary>Seed of every model's initial weights and per-epoch shuffles.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Folder for the PNG plots.</summary>
    public string OutputDirectory { get; init; } = "out";

    /// <summary>Whether to write the PNG plots.</summary>
    public bool Plots { get; init; } = true;

    /// <summary>Where to write the JSON report, or null for none.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Training threads per model, or null for the engine's default.</summary>
    public int? Threads { get; init; }

    /// <summary>How per-epoch progress is shown.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Lines;

    /// <summary>Nadam's momentum schedule: Keras 3's (default) or tf.keras 2.x legacy (the 0.004 factor, the book era's).</summary>
    public Rnnx.Optimizers.NadamSchedule NadamSchedule { get; init; } = Rnnx.Optimizers.NadamSchedule.Keras3;

    /// <summary>Batch size (the notebook uses Keras's default, 32).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Whether <paramref name="model"/> is to be trained.</summary>
    public bool Includes(string model) => Only is null || Only.Contains(model);
}
