using System.Buffers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Concatenates its inputs along <see cref="Axis"/> (Keras's <c>keras.layers.Concatenate(axis=-1)</c>; the axis counts
/// the batch axis, so -1 is the last and 1 the first after the batch): the other axes must match.
/// </summary>
/// <param name="axis">The axis, -1 (the last) by default; not the batch axis.</param>
/// <param name="name">Optional name.</param>
[SavedAs("Concatenate")]
public sealed class Concatenate(int axis = -1, string? name = null) : Merge(name)
{
    /// <summary>The concatenation axis, counting the batch axis (negative from the end).</summary>
    public int Axis { get; } = axis;

    /// <inheritdoc />
    protected override int?[] MergedShape(IReadOnlyList<int?[]> inputShapes)
    {
        int rank = inputShapes[0].Length + 1, ax = Axis < 0 ? Axis + rank : Axis;
        if (ax < 1 || ax >= rank)
            throw ShapeError($"axis {Axis} is not an axis after the batch of inputs {ShapesText(inputShapes)}.");
        var result = (int?[])inputShapes[0].Clone();
        foreach (var shape in inputShapes.Skip(1))
        {
            bool ok = shape.Length == result.Length;
            for (int d = 0; ok && d < shape.Length; d++)
                ok = d == ax - 1 || shape[d] is null || result[d] is null || shape[d] == result[d];
            if (!ok)
                throw ShapeError($"a Concatenate layer requires inputs with matching shapes except for the concatenation axis {Axis}; got {ShapesText(inputShapes)}.");
            for (int d = 0; d < shape.Length; d++)
                result[d] = d == ax - 1 ? (result[d] is int a && shape[d] is int b ? a + b : null) : result[d] ?? shape[d];
        }
        return result;
    }

    /// <inheritdoc />
    protected override Tensor Merged(ReadOnlySpan<Tensor> inputs)
    {
        int rank = inputs[0].Rank;
        return Tensor.Concat(Axis < 0 ? Axis + rank : Axis, inputs);
    }

    /// <summary>
    /// The output's mask as Keras 3's Concatenate.compute_mask (keras/src/layers/merging/concatenate.py): none when no
    /// input has one; otherwise each input's mask spread over its features (an unmasked input counts as all ones),
    /// concatenated along the axis, then any() over the last axis. For (batch, time, features) inputs that is, along
    /// the features, the logical OR of the masks (all ones if an input is unmasked) and, along time, the masks one
    /// after the other.
    /// </summary>
    /// <exception cref="ArgumentException">Masks on inputs that are not (batch, time, features), or not one mask per input.</exception>
    public override void ComputeMasks(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks, Span<Tensor?> outputMasks)
    {
        if (masks.Length != inputs.Length || outputMasks.Length != 1)
            throw new ArgumentException($"{Name}: {masks.Length} mask(s) for {inputs.Length} input(s) and {outputMasks.Length} output mask slot(s) for 1 output.");
        outputMasks[0] = null;
        if (!AnyMask(masks)) return;
        int rank = inputs[0].Rank, ax = Axis < 0 ? Axis + rank : Axis;
        if (rank != 3)
            throw new ArgumentException($"{Name}: masks reach a Concatenate of rank-{rank} inputs ({string.Join(", ", inputs.ToArray().Select(t => t.Shape.ToString()))}); " +
                "masks are carried through the concatenation of (batch, time, features) inputs only.");
        if (ax != 1)
        {
            var result = FullMask(inputs, masks, 0);
            for (int i = 1; i < inputs.Length; i++) result = Or(result, FullMask(inputs, masks, i));
            outputMasks[0] = result;
            return;
        }
        // A pooled array (per-thread cache, no allocation once warm): a masked training step allocates nothing.
        var rented = ArrayPool<Tensor>.Shared.Rent(inputs.Length);
        try
        {
            for (int i = 0; i < inputs.Length; i++) rented[i] = FullMask(inputs, masks, i);
            outputMasks[0] = Tensor.Concat(1, rented.AsSpan(0, inputs.Length));
        }
        finally
        {
            ArrayPool<Tensor>.Shared.Return(rented, clearArray: true);
        }
    }

    /// <summary>Input <paramref name="i"/>'s (batch, time) mask, all ones when it has none.</summary>
    private static Tensor FullMask(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks, int i) =>
        masks[i] ?? Tensor.Ones(new Shape(inputs[i].Shape[0], inputs[i].Shape[1]), inputs[i].DType);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("axis", Axis);

    internal static Concatenate FromConfig(LayerConfig c) => new(c.GetInt("axis", -1), c.Name);

    internal override string[] ExportOnnxMany(OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        [graph.Op("Concat", $"{path}/concat", [.. inputs], OnnxGraph.Attr.Int("axis", Axis < 0 ? Axis + inputShapes[0].Length + 1 : Axis))];
}
