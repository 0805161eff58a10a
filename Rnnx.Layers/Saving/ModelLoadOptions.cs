namespace Rnnx.Saving;

/// <summary>
/// Limits and switches applied when a model, weights or checkpoint file is read (<see cref="ModelIO.Load(string, bool, ModelLoadOptions?)"/>,
/// <see cref="ModelIO.LoadWeights(Models.Model, string, ModelLoadOptions?)"/>, <see cref="ModelIO.LoadCheckpoint(string, ModelLoadOptions?)"/>,
/// <see cref="ModelIO.RestoreCheckpoint(Models.Model, string, ModelLoadOptions?)"/>, <see cref="ModelIO.Inspect(string, ModelLoadOptions?)"/>).
/// A file beyond a limit is refused with a <see cref="ModelFormatException"/> naming the limit, before anything
/// large is allocated. The defaults accept every model Rnnx can train on an ordinary machine; raise them for larger ones.
/// </summary>
public sealed class ModelLoadOptions
{
    /// <summary>The defaults.</summary>
    public static ModelLoadOptions Default { get; } = new();

    /// <summary>
    /// Most weight values (scalars, all weights together) an architecture may declare: 268,435,456 (2^28, 1 GiB of
    /// float32) by default. Independently of this limit, an architecture may never need more values than the file holds.
    /// </summary>
    public long MaxParameters { get; init; } = 1L << 28;

    /// <summary>Most layers in an architecture, counted at the top level (default 10,000).</summary>
    public int MaxLayers { get; init; } = 10_000;

    /// <summary>Longest model or layer name, in characters (default 256).</summary>
    public int MaxNameLength { get; init; } = 256;

    /// <summary>Deepest nesting of the architecture, compile and training JSON (default 64).</summary>
    public int MaxJsonDepth { get; init; } = 64;

    /// <summary>
    /// Largest safetensors header (the JSON tensor table and all metadata strings), in bytes (default 16 MiB, which is
    /// also the largest supported). Checked against the 8-byte length prefix before the header is read.
    /// </summary>
    public long MaxMetadataBytes { get; init; } = SafeTensorsFile.MaxHeaderLength;

    /// <summary>Largest <c>shards</c> value of an architecture (default 256): each shard keeps its own tape while training.</summary>
    public int MaxShards { get; init; } = 256;

    /// <summary>
    /// Largest magnitude accepted for a weight or an optimizer slot value (default 1e30). Larger finite values are
    /// never the result of training and overflow on the next step.
    /// </summary>
    public double MaxAbsoluteValue { get; init; } = 1e30;

    /// <summary>
    /// Accept NaN, infinite and oversized (<see cref="MaxAbsoluteValue"/>) weights and optimizer slots (default false:
    /// they are refused). For inspecting a diverged model while debugging; such a model predicts NaN.
    /// </summary>
    public bool AllowNonFiniteValues { get; init; }

    /// <summary>Checks the options themselves.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not positive, or <see cref="MaxMetadataBytes"/> exceeds the supported 16 MiB.</exception>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxParameters, nameof(MaxParameters));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxLayers, nameof(MaxLayers));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxNameLength, nameof(MaxNameLength));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxJsonDepth, nameof(MaxJsonDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMetadataBytes, 2, nameof(MaxMetadataBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxMetadataBytes, SafeTensorsFile.MaxHeaderLength, nameof(MaxMetadataBytes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxShards, nameof(MaxShards));
        if (!(MaxAbsoluteValue > 0)) throw new ArgumentOutOfRangeException(nameof(MaxAbsoluteValue), MaxAbsoluteValue, "must be positive.");
    }
}
