using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Applies one inner layer (one set of weights) to every time step of (batch, time, ...): the input is viewed as
/// (batch·time, ...), passed through the layer, and viewed back as (batch, time, ...).
/// </summary>
[SavedAs("TimeDistributed")]
public sealed class TimeDistributed : Layer
{
    /// <summary>Wraps <paramref name="layer"/>.</summary>
    public TimeDistributed(Layer layer, int?[]? inputShape = null, string? name = null) : base(name, inputShape)
    {
        Layer = Track(layer ?? throw new ArgumentNullException(nameof(layer)));
    }

    /// <inheritdoc />
    protected internal override bool FlattenChildNames => true;

    /// <summary>The wrapped layer.</summary>
    public Layer Layer { get; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length < 2) throw ShapeError($"expects (batch, time, ...) input, got (batch, {string.Join(", ", inputShape)}).");
        Layer.BuildInContext(inputShape[1..]);
    }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Length < 2) throw ShapeError($"expects (batch, time, ...) input, got (batch, {string.Join(", ", inputShape)}).");
        return [inputShape[0], .. Layer.ComputeOutputShape(inputShape[1..])];
    }

    /// <summary>The wrapped layer runs on each step alone: the mask passes through unchanged (Keras: supports_masking = True).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var s = input.Shape;
        if (s.Rank < 3) throw ShapeError($"expects (batch, time, ...) input, got {s}.");
        Span<int> inner = stackalloc int[s.Rank - 1];
        inner[0] = s[0] * s[1];
        for (int i = 2; i < s.Rank; i++) inner[i - 1] = s[i];
        var y = Layer.Call(Tensor.Reshape(input, inner), training);
        var ys = y.Shape;
        Span<int> outer = stackalloc int[ys.Rank + 1];
        outer[0] = s[0];
        outer[1] = s[1];
        for (int i = 1; i < ys.Rank; i++) outer[i + 1] = ys[i];
        return Tensor.Reshape(y, outer);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("layer", Layer);

    internal static TimeDistributed FromConfig(LayerConfig c) => new(c.GetLayer("layer"), c.InputShape, c.Name);

    /// <summary>
    /// A layer acting on the last axis alone is exported as it is; any other is run on (batch·time, ...) between two
    /// Reshapes, which needs its per-step shapes known.
    /// </summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        var innerIn = inputShape[1..];
        string innerPath = $"{path}/{Layer.Name}";
        if (Layer.ActsOnLastAxisOnly) return Layer.ExportOnnx(graph, input, innerIn, innerPath);
        var innerOut = Layer.ComputeOutputShape(innerIn);
        if (innerIn.Any(d => d is null) || innerOut.Any(d => d is null))
            throw new NotSupportedException($"ONNX export: TimeDistributed layer '{path}' wraps a {Layer.GetType().Name} whose per-step shape is not fully known.");
        var flat = graph.Op("Reshape", $"{path}/merge_time", [input, graph.ConstantInt64($"{path}/merged_shape", [-1, .. innerIn.Select(d => (long)d!.Value)])]);
        var y = Layer.ExportOnnx(graph, flat, innerIn, innerPath);
        var xShape = graph.Op("Shape", $"{path}/input_shape", [input]);
        var bt = graph.Op("Slice", $"{path}/batch_time", [xShape, graph.ConstantInt64($"{path}/zero", 0), graph.ConstantInt64($"{path}/two", 2)]);
        var outShape = graph.Op("Concat", $"{path}/split_shape",
            [bt, graph.ConstantInt64($"{path}/step_shape", innerOut.Select(d => (long)d!.Value).ToArray())], OnnxGraph.Attr.Int("axis", 0));
        return graph.Op("Reshape", $"{path}/split_time", [y, outShape]);
    }
}
