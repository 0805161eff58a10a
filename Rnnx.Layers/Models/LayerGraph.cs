using Rnnx.Layers;

namespace Rnnx.Models;

/// <summary>One layer call of a model's graph: the layer, the slots it reads and the consecutive slots it writes.</summary>
internal sealed class GraphNode(Layer layer, int[] inputSlots, int firstOutputSlot, int outputCount, LayerNode? symbolic)
{
    public Layer Layer { get; } = layer;

    /// <summary>The slots of the call's inputs, in the layer's input order.</summary>
    public int[] InputSlots { get; } = inputSlots;

    public int FirstOutputSlot { get; } = firstOutputSlot;

    public int OutputCount { get; } = outputCount;

    /// <summary>The symbolic call this node runs (null in a <see cref="Sequential"/> chain).</summary>
    public LayerNode? Symbolic { get; } = symbolic;
}

/// <summary>
/// The layer calls a <see cref="Model"/> runs, in topological order, over numbered tensor slots: slots 0..inputs-1 hold
/// the model's inputs, every node writes its outputs into slots of its own, and the model's outputs are read from
/// <see cref="OutputSlots"/>. A <see cref="Sequential"/> model is the chain whose node i reads slot i and writes slot i+1.
/// Immutable once made, so any number of threads run it at once; each run uses slot storage of its own.
/// </summary>
internal sealed class LayerGraph
{
    // Per-thread slot buffers: shards run the graph concurrently, and a graph may run inside a layer of another.
    [ThreadStatic] private static Stack<Tensor[]>? t_slotBuffers;

    private readonly int _maxNodeInputs;

    public LayerGraph(int inputCount, GraphNode[] nodes, int[] outputSlots, int slotCount)
    {
        InputCount = inputCount;
        Nodes = nodes;
        OutputSlots = outputSlots;
        SlotCount = slotCount;
        _maxNodeInputs = nodes.Length == 0 ? 0 : nodes.Max(n => n.InputSlots.Length);
        IsChain = inputCount == 1 && outputSlots is [var o] && o == nodes.Length
            && nodes.Select((n, i) => n.InputSlots is [var s] && s == i && n.FirstOutputSlot == i + 1 && n.OutputCount == 1).All(b => b);
    }

    public int InputCount { get; }

    public IReadOnlyList<GraphNode> Nodes { get; }

    public int[] OutputSlots { get; }

    public int SlotCount { get; }

    /// <summary>True for a chain of single-input, single-output calls (every Sequential model).</summary>
    public bool IsChain { get; }

    /// <summary>The chain of <paramref name="layers"/>: node i reads slot i and writes slot i + 1.</summary>
    public static LayerGraph Chain(IReadOnlyList<Layer> layers)
    {
        var nodes = new GraphNode[layers.Count];
        for (int i = 0; i < nodes.Length; i++) nodes[i] = new GraphNode(layers[i], [i], i + 1, 1, null);
        return new LayerGraph(1, nodes, [layers.Count], layers.Count + 1);
    }

    /// <summary>Runs a one-input, one-output graph on <paramref name="x"/>.</summary>
    public Tensor Run(Tensor x, bool training)
    {
        if (IsChain)
        {
            foreach (var node in (GraphNode[])Nodes) x = node.Layer.Call(x, training);
            return x;
        }
        Tensor y = default;
        Run(new ReadOnlySpan<Tensor>(in x), new Span<Tensor>(ref y), training);
        return y;
    }

    /// <summary>Runs the graph: every node in order, on the active tape (if any).</summary>
    public void Run(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training)
    {
        if (inputs.Length != InputCount) throw new ArgumentException($"the model takes {InputCount} input(s), got {inputs.Length}.", nameof(inputs));
        if (outputs.Length != OutputSlots.Length) throw new ArgumentException($"the model gives {OutputSlots.Length} output(s), the caller expects {outputs.Length}.", nameof(outputs));
        var pool = t_slotBuffers ??= new Stack<Tensor[]>();
        var slots = pool.Count > 0 ? pool.Pop() : [];
        int needed = SlotCount + _maxNodeInputs;
        if (slots.Length < needed) slots = new Tensor[needed];
        try
        {
            inputs.CopyTo(slots);
            var scratch = slots.AsSpan(SlotCount, _maxNodeInputs);
            foreach (var node in (GraphNode[])Nodes)
            {
                var ins = node.InputSlots;
                if (ins.Length == 1 && node.OutputCount == 1)
                {
                    slots[node.FirstOutputSlot] = node.Layer.Call(slots[ins[0]], training);
                    continue;
                }
                for (int i = 0; i < ins.Length; i++) scratch[i] = slots[ins[i]];
                node.Layer.CallMany(scratch[..ins.Length], slots.AsSpan(node.FirstOutputSlot, node.OutputCount), training);
            }
            for (int i = 0; i < outputs.Length; i++) outputs[i] = slots[OutputSlots[i]];
        }
        finally
        {
            Array.Clear(slots, 0, needed);
            pool.Push(slots);
        }
    }

    /// <summary>
    /// The shape (without batch) of every slot for the given input shapes, each node's from <see cref="Layer.ComputeOutputShapes"/>.
    /// With <paramref name="build"/>, each layer is first built (in the active build context) for its call's input shapes.
    /// </summary>
    public int?[][] SlotShapes(IReadOnlyList<int?[]> inputShapes, bool build = false)
    {
        var shapes = new int?[SlotCount][];
        for (int i = 0; i < InputCount; i++) shapes[i] = inputShapes[i];
        foreach (var node in (GraphNode[])Nodes)
        {
            var ins = node.InputSlots.Select(s => shapes[s]).ToArray();
            if (build) node.Layer.BuildInContext(ins);
            var outs = node.Layer.ComputeOutputShapes(ins);
            for (int i = 0; i < node.OutputCount; i++) shapes[node.FirstOutputSlot + i] = outs[i];
        }
        return shapes;
    }
}
