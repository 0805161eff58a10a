namespace Rnnx.Layers;

public abstract partial class Layer
{
    private readonly List<LayerNode> _inboundNodes = [];
    private readonly Lock _nodesLock = new();

    /// <summary>
    /// Calls the layer on a symbolic tensor (Keras's <c>layer(x)</c> in a functional model) and returns its output; a
    /// layer with several outputs (a recurrent layer with return state) gives its first here, all with <see cref="ApplyMany"/>.
    /// Shapes are checked now: a layer that does not fit <paramref name="input"/> is refused naming the layer and the shapes.
    /// Calling one layer on several tensors shares its weights between the calls.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input shape does not fit the layer.</exception>
    public SymbolicTensor Apply(SymbolicTensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return ApplyMany(input)[0];
    }

    /// <summary>
    /// Calls the layer on several symbolic tensors (merge layers; a recurrent layer's input followed by its initial states)
    /// and returns every output (a recurrent layer with return state: the output, then the final states). Deconstructs:
    /// <c>var (y, h, c) = new LSTM(20, returnState: true).ApplyMany(x);</c>
    /// </summary>
    /// <remarks>
    /// A shared layer may be called on sequences of another length than its first call's (an encoder on 50 steps and
    /// the same layer on 20, as Keras allows): every other axis must be the first call's, since the weights were made
    /// for it. Each call's output shapes are its own (a layer called on several lengths shows "multiple" in the summary).
    /// </remarks>
    /// <exception cref="ShapeMismatchException">The number of inputs or a shape does not fit the layer, or a shared layer is called on shapes that differ from its first call's in more than the time axis.</exception>
    public SymbolicTensor[] ApplyMany(params SymbolicTensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0) throw new ArgumentException($"{Name}: called with no inputs.", nameof(inputs));
        foreach (var t in inputs) ArgumentNullException.ThrowIfNull(t, nameof(inputs));
        if (this is InputLayer) throw new ArgumentException($"{Name}: an input layer is not called on tensors; use new Input(shape).", nameof(inputs));
        var shapes = inputs.Select(t => t.ShapeArray).ToArray();
        var first = FirstCallShapes();
        if (first is not null && !SameShapesButTime(first, shapes))
            throw ShapeError($"is shared and was first called on {ShapesText(first)}; it cannot be called on {ShapesText(shapes)} (one weight set needs the same input shapes, except on axes no weight fixes, such as the time axis).");
        if (IsBuilt && !SameShapesButTime(BuiltInputShapes!, shapes))
            throw ShapeError($"is built for {ShapesText(BuiltInputShapes!)}; it cannot be called on {ShapesText(shapes)}.");
        IReadOnlyList<int?[]> outputShapes;
        try
        {
            outputShapes = ComputeOutputShapes(shapes);
        }
        catch (ShapeMismatchException e) when (!e.Message.Contains(ShapesText(shapes), StringComparison.Ordinal))
        {
            throw ShapeError($"cannot be called on {ShapesText(shapes)}: {e.Message}");
        }
        return LayerNode.Create(this, inputs, outputShapes).Outputs.ToArray();
    }

    /// <summary>The layer's calls on symbolic tensors, in call order.</summary>
    internal IReadOnlyList<LayerNode> InboundNodes
    {
        get
        {
            lock (_nodesLock) return _inboundNodes.ToArray();
        }
    }

    internal int AddInboundNode(LayerNode node)
    {
        lock (_nodesLock)
        {
            _inboundNodes.Add(node);
            return _inboundNodes.Count - 1;
        }
    }

    private int?[][]? FirstCallShapes()
    {
        lock (_nodesLock) return _inboundNodes.Count > 0 ? _inboundNodes[0].Inputs.Select(t => t.ShapeArray).ToArray() : null;
    }

    /// <summary>
    /// The same number of inputs, ranks and sizes, except on the axes whose length no weight of the layer fixes
    /// (<see cref="LengthIsFree"/>): one weight set serves every length there.
    /// </summary>
    private bool SameShapesButTime(IReadOnlyList<int?[]> a, IReadOnlyList<int?[]> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Length == p.Second.Length
            && p.First.Zip(p.Second).Select((d, axis) => d.First == d.Second || LengthIsFree(axis, p.First.Length)).All(ok => ok));

    /// <summary>
    /// Whether a shared call may give axis <paramref name="axis"/> (counted after the batch) of a per-sample shape of
    /// rank <paramref name="rank"/> another length than the first call did. By default the first axis of a
    /// (time, ...) input: no weight depends on a sequence's length.
    /// </summary>
    private protected virtual bool LengthIsFree(int axis, int rank) => axis == 0 && rank >= 2;

    internal static string ShapesText(IReadOnlyList<int?[]> shapes) => string.Join(" and ", shapes.Select(s => "(None, " + string.Join(", ", s.Select(d => d?.ToString() ?? "None")) + ")"));
}

/// <summary>Deconstruction of a layer's symbolic outputs: <c>var (y, h, c) = lstm.ApplyMany(x);</c>.</summary>
public static class SymbolicTensorDeconstruction
{
    /// <summary>Two outputs (e.g. a GRU's output and state).</summary>
    /// <exception cref="ArgumentException">The layer gave another number of outputs.</exception>
    public static void Deconstruct(this SymbolicTensor[] outputs, out SymbolicTensor first, out SymbolicTensor second)
    {
        Require(outputs, 2);
        (first, second) = (outputs[0], outputs[1]);
    }

    /// <summary>Three outputs (e.g. an LSTM's output, h and c).</summary>
    /// <exception cref="ArgumentException">The layer gave another number of outputs.</exception>
    public static void Deconstruct(this SymbolicTensor[] outputs, out SymbolicTensor first, out SymbolicTensor second, out SymbolicTensor third)
    {
        Require(outputs, 3);
        (first, second, third) = (outputs[0], outputs[1], outputs[2]);
    }

    private static void Require(SymbolicTensor[] outputs, int count)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Length != count)
            throw new ArgumentException($"{(outputs.Length > 0 ? outputs[0].Layer.Name : "the layer")} gives {outputs.Length} output(s), not {count}.", nameof(outputs));
    }
}
