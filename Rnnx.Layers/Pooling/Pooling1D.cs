using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// The shared half of <see cref="MaxPooling1D"/> and <see cref="AveragePooling1D"/> (Keras's <c>Pooling1D</c>):
/// windows of <c>pool_size</c> rows every <c>strides</c> rows (default: the pool size) over (batch, length, channels),
/// padding <c>"valid"</c> or <c>"same"</c> with TensorFlow's rules; padded positions never take part.
/// </summary>
public abstract class Pooling1D : Layer
{
    private protected Pooling1D(int poolSize, int? strides, string padding, int?[]? inputShape, string? name) : base(name, inputShape)
    {
        if (poolSize < 1) throw new ArgumentOutOfRangeException(nameof(poolSize), poolSize, $"{GetType().Name}: pool_size must be at least 1.");
        if (strides is < 1) throw new ArgumentOutOfRangeException(nameof(strides), strides, $"{GetType().Name}: strides must be at least 1 (or null for pool_size).");
        PoolSize = poolSize;
        Strides = strides ?? poolSize;
        Padding = padding switch
        {
            "valid" => Conv1DPadding.Valid,
            "same" => Conv1DPadding.Same,
            _ => throw new ArgumentException($"{GetType().Name}: padding must be \"valid\" or \"same\", got \"{padding}\".", nameof(padding)),
        };
    }

    /// <summary>Window length (Keras default 2).</summary>
    public int PoolSize { get; }

    /// <summary>Step between windows (Keras default: the pool size).</summary>
    public int Strides { get; }

    /// <summary>Valid or same.</summary>
    public Conv1DPadding Padding { get; }

    private protected abstract bool IsMax { get; }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Length != 2) throw ShapeError($"expects input (batch, length, channels), got rank {inputShape.Length + 1}.");
        if (inputShape[0] is int l && Padding == Conv1DPadding.Valid && l < PoolSize)
            throw ShapeError($"pool_size {PoolSize} is longer than the input length {l} with 'valid' padding.");
        int? len = inputShape[0] is int n ? Tensor.Conv1DOutputLength(n, PoolSize, Strides, 1, Padding) : null;
        return [len, inputShape[1]];
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 3) throw ShapeError($"expected input (batch, length, channels), got {input.Shape}.");
        return IsMax ? Tensor.MaxPool1D(input, PoolSize, Strides, Padding) : Tensor.AveragePool1D(input, PoolSize, Strides, Padding);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig()
        .Set("pool_size", PoolSize).Set("strides", Strides).Set("padding", Padding == Conv1DPadding.Valid ? "valid" : "same");

    /// <summary>
    /// MaxPool / AveragePool on (batch, channels, length) between two Transposes; same padding as SAME_UPPER (the extra
    /// padded row on the right, TensorFlow's split), and average pooling without the pads in the count.
    /// </summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        var attrs = new List<OnnxGraph.Attr> { OnnxGraph.Attr.Ints("kernel_shape", PoolSize), OnnxGraph.Attr.Ints("strides", Strides) };
        // SAME_UPPER puts the odd padding row at the end, TensorFlow's split, for any input length.
        if (Padding == Conv1DPadding.Same) attrs.Add(OnnxGraph.Attr.String("auto_pad", "SAME_UPPER"));
        if (!IsMax) attrs.Add(OnnxGraph.Attr.Int("count_include_pad", 0));
        var ncw = graph.Op("Transpose", $"{path}/to_ncw", [input], OnnxGraph.Attr.Ints("perm", 0, 2, 1));
        var pooled = graph.Op(IsMax ? "MaxPool" : "AveragePool", $"{path}/pool", [ncw], [.. attrs]);
        return graph.Op("Transpose", $"{path}/to_nwc", [pooled], OnnxGraph.Attr.Ints("perm", 0, 2, 1));
    }
}

/// <summary>Keras <c>MaxPooling1D(pool_size=2, strides=None, padding="valid")</c>: the maximum of each window, per channel.</summary>
[SavedAs("MaxPooling1D")]
public sealed class MaxPooling1D(int poolSize = 2, int? strides = null, string padding = "valid", int?[]? inputShape = null, string? name = null)
    : Pooling1D(poolSize, strides, padding, inputShape, name)
{
    private protected override bool IsMax => true;

    /// <inheritdoc />
    protected override string DefaultName => "max_pooling1d";

    internal static MaxPooling1D FromConfig(LayerConfig c) =>
        new(c.GetInt("pool_size", 2), c.Contains("strides") ? c.GetInt("strides") : null, c.GetString("padding", "valid")!, c.InputShape, c.Name);
}

/// <summary>Keras <c>AveragePooling1D(pool_size=2, strides=None, padding="valid")</c>: the mean of each window's real rows, per channel.</summary>
[SavedAs("AveragePooling1D")]
public sealed class AveragePooling1D(int poolSize = 2, int? strides = null, string padding = "valid", int?[]? inputShape = null, string? name = null)
    : Pooling1D(poolSize, strides, padding, inputShape, name)
{
    private protected override bool IsMax => false;

    /// <inheritdoc />
    protected override string DefaultName => "average_pooling1d";

    internal static AveragePooling1D FromConfig(LayerConfig c) =>
        new(c.GetInt("pool_size", 2), c.Contains("strides") ? c.GetInt("strides") : null, c.GetString("padding", "valid")!, c.InputShape, c.Name);
}

/// <summary>Keras <c>GlobalAveragePooling1D()</c>: (batch, steps, features) → (batch, features), the mean over the steps.</summary>
[SavedAs("GlobalAveragePooling1D")]
public sealed class GlobalAveragePooling1D(int?[]? inputShape = null, string? name = null) : Layer(name, inputShape)
{
    /// <inheritdoc />
    protected override string DefaultName => "global_average_pooling1d";

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape.Length == 2
        ? [inputShape[1]]
        : throw ShapeError($"expects input (batch, steps, features), got rank {inputShape.Length + 1}.");

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input.Rank == 3
        ? Tensor.Mean(input, 1)
        : throw ShapeError($"expected input (batch, steps, features), got {input.Shape}.");

    /// <summary>Keras: with a mask, the mean over the unmasked steps only (keras/src/layers/pooling/global_average_pooling1d.py).</summary>
    public override bool SupportsMasking => true;

    /// <summary>Σ_t x[:, t] ⊙ m[:, t] / Σ_t m[:, t], as Keras (a sample with every step masked divides by 0, as in Keras).</summary>
    protected override Tensor Forward(Tensor input, Tensor mask, bool training)
    {
        if (input.Rank != 3) throw ShapeError($"expected input (batch, steps, features), got {input.Shape}.");
        int batch = input.Shape[0];
        var sum = Tensor.Sum(input * Tensor.Reshape(mask, batch, input.Shape[1], 1), 1);
        return sum / Tensor.Reshape(Tensor.Sum(mask, 1), batch, 1);
    }

    /// <summary>The time axis is pooled away, and the mask with it (Keras: <c>compute_mask</c> returns None).</summary>
    public override Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        base.ComputeMask(input, mask);
        return null;
    }

    internal static GlobalAveragePooling1D FromConfig(LayerConfig c) => new(c.InputShape, c.Name);

    /// <summary>With a mask: ReduceSum(x ⊙ m) / ReduceSum(m) over the steps, as <see cref="Forward(Tensor, Tensor, bool)"/>.</summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path, string? mask)
    {
        if (mask is null) return ExportOnnx(graph, input, inputShape, path);
        var m = graph.Op("Unsqueeze", $"{path}/mask3", [mask, graph.ConstantInt64($"{path}/feature_axis", 2)]);
        var steps = graph.ConstantInt64($"{path}/step_axis", 1);
        var sum = graph.Op("ReduceSum", $"{path}/masked_sum", [graph.Op("Mul", $"{path}/masked", [input, m]), steps], OnnxGraph.Attr.Int("keepdims", 0));
        var count = graph.Op("ReduceSum", $"{path}/count", [m, steps], OnnxGraph.Attr.Int("keepdims", 0));
        return graph.Op("Div", $"{path}/mean", [sum, count]);
    }

    internal override string? ExportOnnxMask(OnnxGraph graph, string input, string path, string? mask) => null;

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("ReduceMean", $"{path}/mean", [input], OnnxGraph.Attr.Ints("axes", 1), OnnxGraph.Attr.Int("keepdims", 0));
}

/// <summary>Keras <c>GlobalMaxPooling1D()</c>: (batch, steps, features) → (batch, features), the maximum over the steps.</summary>
[SavedAs("GlobalMaxPooling1D")]
public sealed class GlobalMaxPooling1D(int?[]? inputShape = null, string? name = null) : Layer(name, inputShape)
{
    /// <inheritdoc />
    protected override string DefaultName => "global_max_pooling1d";

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape.Length == 2
        ? [inputShape[1]]
        : throw ShapeError($"expects input (batch, steps, features), got rank {inputShape.Length + 1}.");

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 3) throw ShapeError($"expected input (batch, steps, features), got {input.Shape}.");
        // One window spanning all steps: (batch, 1, features), then the step axis dropped.
        var pooled = Tensor.MaxPool1D(input, input.Shape[1], 1);
        return Tensor.Reshape(pooled, input.Shape[0], input.Shape[2]);
    }

    internal static GlobalMaxPooling1D FromConfig(LayerConfig c) => new(c.InputShape, c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("ReduceMax", $"{path}/max", [input], OnnxGraph.Attr.Ints("axes", 1), OnnxGraph.Attr.Int("keepdims", 0));
}
