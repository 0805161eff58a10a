namespace Rnnx.Layers;

/// <summary>
/// Base of the merge layers (Keras's <c>keras.layers.merging.base_merge.Merge</c>): called on a list of at least two
/// tensors, refusing a single tensor and shapes that do not combine, naming the layer and the shapes.
/// </summary>
public abstract class Merge : Layer
{
    /// <summary>Creates a merge layer.</summary>
    /// <param name="name">Optional name.</param>
    protected Merge(string? name) : base(name) { }

    /// <summary>A merge layer takes several inputs; on one it refuses naming itself.</summary>
    public sealed override int?[] ComputeOutputShape(int?[] inputShape) => ComputeOutputShapes([inputShape])[0];

    /// <summary>The merged shape, after checking that there are at least two inputs.</summary>
    public sealed override IReadOnlyList<int?[]> ComputeOutputShapes(IReadOnlyList<int?[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        if (inputShapes.Count < 2)
            throw ShapeError($"a merge layer should be called on a list of at least 2 inputs, got {inputShapes.Count}: {ShapesText(inputShapes)}.");
        return [MergedShape(inputShapes)];
    }

    /// <summary>The output shape (without batch) for at least two input shapes (without batch); throws <see cref="Layer.ShapeError"/> when they do not combine.</summary>
    protected abstract int?[] MergedShape(IReadOnlyList<int?[]> inputShapes);

    /// <inheritdoc />
    protected sealed override void BuildCore(IReadOnlyList<int?[]> inputShapes) => ComputeOutputShapes(inputShapes);

    /// <summary>A merge layer is not called on a single tensor.</summary>
    protected sealed override Tensor Forward(Tensor input, bool training) =>
        throw ShapeError($"a merge layer should be called on a list of at least 2 inputs, got 1: {input.Shape}.");

    /// <inheritdoc />
    protected sealed override void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training)
    {
        if (inputs.Length < 2)
            throw ShapeError($"a merge layer should be called on a list of at least 2 inputs, got {inputs.Length}.");
        for (int i = 1; i < inputs.Length; i++)
            if (inputs[i].Rank != inputs[0].Rank || inputs[i].Shape[0] != inputs[0].Shape[0])
                throw ShapeError($"inputs {inputs[0].Shape} and {inputs[i].Shape} do not merge (same rank and batch needed).");
        outputs[0] = Merged(inputs);
    }

    /// <summary>Merge layers take masks (Keras: <c>supports_masking = True</c>); the values merge as without them.</summary>
    public override bool SupportsMasking => true;

    /// <summary>With masks: the same values as without (Keras's merge functions do not read the masks).</summary>
    protected sealed override void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training, ReadOnlySpan<Tensor?> masks) =>
        ForwardMany(inputs, outputs, training);

    /// <summary>
    /// The output's mask as Keras 3 computes it (keras/src/layers/merging/base_merge.py, Merge.compute_mask: "Default
    /// implementation does an OR between the masks, which works for Add, Subtract, Average, Maximum, Minimum,
    /// Multiply"): none when any input has none, else the logical OR of the inputs' masks.
    /// </summary>
    /// <exception cref="ArgumentException">Not one mask per input.</exception>
    public override void ComputeMasks(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks, Span<Tensor?> outputMasks)
    {
        if (masks.Length != inputs.Length || outputMasks.Length != 1)
            throw new ArgumentException($"{Name}: {masks.Length} mask(s) for {inputs.Length} input(s) and {outputMasks.Length} output mask slot(s) for 1 output.");
        outputMasks[0] = null;
        foreach (var m in masks) if (m is null) return;
        var result = masks[0]!.Value;
        for (int i = 1; i < masks.Length; i++) result = Or(result, masks[i]!.Value);
        outputMasks[0] = result;
    }

    /// <summary>The logical OR of two 0/1 masks (exact: a + b − a·b).</summary>
    private protected static Tensor Or(Tensor a, Tensor b) => a + b - a * b;

    /// <summary>The merge of at least two (batch, ...) tensors.</summary>
    protected abstract Tensor Merged(ReadOnlySpan<Tensor> inputs);

    /// <summary>
    /// Keras's elementwise shape rule (base_merge._compute_elemwise_op_output_shape): the same rank, and per axis equal
    /// sizes, or 1 (broadcast), or unknown.
    /// </summary>
    private protected int?[] ElementwiseShape(IReadOnlyList<int?[]> inputShapes)
    {
        var result = (int?[])inputShapes[0].Clone();
        foreach (var shape in inputShapes.Skip(1))
        {
            if (shape.Length != result.Length)
                throw ShapeError($"inputs have incompatible shapes: {ShapesText(inputShapes)} (different ranks).");
            for (int d = 0; d < shape.Length; d++)
            {
                int? a = result[d], b = shape[d];
                result[d] = a is null || b is null ? (a == 1 ? b : b == 1 ? a : null)
                    : a == b ? a : a == 1 ? b : b == 1 ? a
                    : throw ShapeError($"inputs have incompatible shapes: {ShapesText(inputShapes)}.");
            }
        }
        return result;
    }

    /// <summary>The elementwise ONNX op applied left to right over the inputs.</summary>
    private protected static string OnnxChain(Onnx.OnnxGraph graph, string op, IReadOnlyList<string> inputs, string path)
    {
        string x = inputs[0];
        for (int i = 1; i < inputs.Count; i++) x = graph.Op(op, $"{path}/{op.ToLowerInvariant()}_{i}", [x, inputs[i]]);
        return x;
    }
}
