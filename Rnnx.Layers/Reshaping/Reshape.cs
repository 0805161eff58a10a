using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Keras <c>Reshape(target_shape)</c>: each sample to the target shape (without the batch axis; one entry may
/// be −1, inferred), same row-major order; a view, no copy.
/// </summary>
[SavedAs("Reshape")]
public sealed class Reshape : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentException">An entry below −1 or 0, or more than one −1.</exception>
    public Reshape(int[] targetShape, int?[]? inputShape = null, string? name = null) : base(name, inputShape)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        if (targetShape.Length == 0 || targetShape.Any(d => d == 0 || d < -1) || targetShape.Count(d => d == -1) > 1)
            throw new ArgumentException($"Reshape: target_shape ({string.Join(", ", targetShape)}) needs positive sizes and at most one -1.", nameof(targetShape));
        TargetShape = (int[])targetShape.Clone();
    }

    /// <summary>The per-sample target shape (−1 inferred).</summary>
    public IReadOnlyList<int> TargetShape { get; }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Any(d => d is null))
            return TargetShape.Select(d => d == -1 ? (int?)null : d).ToArray();
        int size = inputShape.Aggregate(1, (a, d) => a * d!.Value);
        int known = TargetShape.Where(d => d != -1).Aggregate(1, (a, d) => a * d);
        bool infer = TargetShape.Contains(-1);
        if (infer ? size % known != 0 : size != known)
            throw ShapeError($"cannot reshape a sample of shape ({string.Join(", ", inputShape)}) ({size} values) to ({string.Join(", ", TargetShape)}).");
        return TargetShape.Select(d => (int?)(d == -1 ? size / known : d)).ToArray();
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var dims = new int[TargetShape.Count + 1];
        dims[0] = input.Shape[0];
        for (int i = 0; i < TargetShape.Count; i++) dims[i + 1] = TargetShape[i];
        int known = TargetShape.Where(d => d != -1).Aggregate(input.Shape[0], (a, d) => a * d);
        if (!TargetShape.Contains(-1) ? input.Size != known : input.Size % known != 0)
            throw ShapeError($"cannot reshape input {input.Shape} to (batch, {string.Join(", ", TargetShape)}).");
        return Tensor.Reshape(input, dims);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("target_shape", TargetShape.Select(d => (int?)d).ToArray());

    internal static Reshape FromConfig(LayerConfig c) =>
        new((c.GetShape("target_shape") ?? throw new ModelFormatException($"{c.Context}: a Reshape needs target_shape"))
            .Select(d => d ?? -1).ToArray(), c.InputShape, c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("Reshape", $"{path}/reshape", [input, graph.ConstantInt64($"{path}/shape", [0, .. TargetShape.Select(d => (long)d)])]);
}

/// <summary>
/// Keras <c>Permute(dims)</c>: permutes the axes of each sample; dims is 1-based and excludes the
/// batch axis, e.g. <c>Permute([2, 1])</c> swaps steps and features.
/// </summary>
[SavedAs("Permute")]
public sealed class Permute : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentException">dims is not a permutation of 1..n.</exception>
    public Permute(int[] dims, int?[]? inputShape = null, string? name = null) : base(name, inputShape)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length == 0 || !dims.Order().SequenceEqual(Enumerable.Range(1, dims.Length)))
            throw new ArgumentException($"Permute: dims ({string.Join(", ", dims)}) must be a permutation of 1..{dims.Length} (the batch axis is not included).", nameof(dims));
        Dims = (int[])dims.Clone();
    }

    /// <summary>The 1-based permutation of the non-batch axes.</summary>
    public IReadOnlyList<int> Dims { get; }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape.Length == Dims.Count
        ? Dims.Select(d => inputShape[d - 1]).ToArray()
        : throw ShapeError($"dims ({string.Join(", ", Dims)}) need inputs of rank {Dims.Count + 1}, got rank {inputShape.Length + 1}.");

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != Dims.Count + 1) throw ShapeError($"dims ({string.Join(", ", Dims)}) need inputs of rank {Dims.Count + 1}, got {input.Shape}.");
        Span<int> perm = stackalloc int[Dims.Count + 1];
        for (int i = 0; i < Dims.Count; i++) perm[i + 1] = Dims[i];
        return Tensor.Transpose(input, perm);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("dims", Dims.Select(d => (int?)d).ToArray());

    internal static Permute FromConfig(LayerConfig c) =>
        new((c.GetShape("dims") ?? throw new ModelFormatException($"{c.Context}: a Permute needs dims")).Select(d => d ?? 0).ToArray(), c.InputShape, c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("Transpose", $"{path}/transpose", [input], OnnxGraph.Attr.Ints("perm", [0, .. Dims.Select(d => (long)d)]));
}
