namespace Rnnx.Layers;

/// <summary>
/// A placeholder for a tensor in a functional model (Keras's <c>KerasTensor</c>): its shape without the batch axis
/// and the layer call that produces it. Made by <see cref="Input"/> and by <see cref="Layer.Apply"/> /
/// <see cref="Layer.ApplyMany"/>; holds no values. A <see cref="Models.Model"/> is built from input and output
/// symbolic tensors and runs the layer calls between them.
/// </summary>
public class SymbolicTensor
{
    private readonly int?[] _shape;

    internal SymbolicTensor(LayerNode node, int tensorIndex, int?[] shape)
    {
        Node = node;
        TensorIndex = tensorIndex;
        _shape = (int?[])shape.Clone();
    }

    /// <summary>The shape without the batch axis (<c>null</c>: unknown, such as a time axis).</summary>
    public IReadOnlyList<int?> Shape => _shape;

    internal int?[] ShapeArray => _shape;

    /// <summary>The layer whose call produces this tensor (an <see cref="InputLayer"/> for a model input).</summary>
    public Layer Layer => Node.Layer;

    /// <summary>Which output of the layer call this is (0 for most layers; 1, 2... for a recurrent layer's states).</summary>
    public int TensorIndex { get; }

    internal LayerNode Node { get; }

    /// <summary>Keras's text for the tensor: the producing layer, its call index and output index, e.g. <c>lstm[0][1]</c>.</summary>
    public override string ToString() => $"{Layer.Name}[{Node.Index}][{TensorIndex}] {Layer.ShapeText(_shape)}";
}

/// <summary>
/// A model input (Keras's <c>keras.Input</c>): <c>new Input([null, 1])</c> is a symbolic (batch, time, 1) tensor
/// produced by a fresh <see cref="InputLayer"/>.
/// </summary>
public sealed class Input : SymbolicTensor
{
    /// <summary>Creates an input.</summary>
    /// <param name="shape">Shape without the batch axis, <c>null</c> for unknown lengths, e.g. <c>[null, 1]</c>.</param>
    /// <param name="batchSize">Optional fixed batch size (Keras's <c>batch_size</c>); null accepts any.</param>
    /// <param name="name">Optional name of the input layer (default <c>input_layer</c>, made unique by the model).</param>
    /// <exception cref="ArgumentException">A non-positive dimension or batch size.</exception>
    public Input(int?[] shape, int? batchSize = null, string? name = null)
        : base(LayerNode.ForInput(new InputLayer(shape ?? throw new ArgumentNullException(nameof(shape)), name, batchSize)), 0, shape)
    {
    }

    /// <summary>An input for an existing input layer (a model being loaded).</summary>
    internal Input(InputLayer layer) : base(LayerNode.ForInput(layer), 0, layer.DeclaredInputShape!) { }

    /// <summary>The fixed batch size, or null.</summary>
    public int? BatchSize => ((InputLayer)Layer).BatchSize;
}

/// <summary>One call of a layer on symbolic tensors (Keras's <c>Node</c>): the layer, its inputs and its outputs.</summary>
internal sealed class LayerNode
{
    private static long s_nextId;

    private LayerNode(Layer layer, SymbolicTensor[] inputs)
    {
        Layer = layer;
        Inputs = inputs;
        Id = Interlocked.Increment(ref s_nextId);
    }

    public Layer Layer { get; }

    /// <summary>The symbolic inputs (empty for an input layer).</summary>
    public IReadOnlyList<SymbolicTensor> Inputs { get; }

    public IReadOnlyList<SymbolicTensor> Outputs { get; private set; } = [];

    /// <summary>Creation order: a valid topological order of every node (inputs exist before the calls on them).</summary>
    public long Id { get; }

    /// <summary>Which call of <see cref="Layer"/> this is (Keras's node index: a shared layer has several).</summary>
    public int Index { get; private set; }

    public static LayerNode ForInput(InputLayer layer) => Create(layer, [], [layer.DeclaredInputShape!]);

    public static LayerNode Create(Layer layer, SymbolicTensor[] inputs, IReadOnlyList<int?[]> outputShapes)
    {
        var node = new LayerNode(layer, inputs);
        node.Outputs = outputShapes.Select((s, i) => new SymbolicTensor(node, i, s)).ToArray();
        node.Index = layer.AddInboundNode(node);
        return node;
    }
}
