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
    [ThreadStatic] private static Stack<Tensor?[]>? t_maskBuffers;

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
    public Tensor Run(Tensor x, bool training) => Run(x, training, out _);

    /// <summary>
    /// Runs a one-input, one-output graph on <paramref name="x"/>, carrying Keras's mask from layer to layer: each call
    /// gets the mask of its input (<see cref="Layer.Call(Tensor, Tensor?, bool)"/>) and gives the mask of its output
    /// (<see cref="Layer.ComputeMask"/>); <paramref name="mask"/> is the output's (null when none), for the loss and metrics.
    /// </summary>
    public Tensor Run(Tensor x, bool training, out Tensor? mask)
    {
        mask = null;
        if (IsChain)
        {
            foreach (var node in (GraphNode[])Nodes)
            {
                var y = node.Layer.Call(x, mask, training);
                mask = node.Layer.ComputeMask(x, mask);
                x = y;
            }
            return x;
        }
        Tensor output = default;
        Tensor? outputMask = null;
        Run(new ReadOnlySpan<Tensor>(in x), new Span<Tensor>(ref output), training, new Span<Tensor?>(ref outputMask));
        mask = outputMask;
        return output;
    }

    /// <summary>Runs the graph: every node in order, on the active tape (if any).</summary>
    public void Run(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training) => Run(inputs, outputs, training, default);

    /// <summary>
    /// Runs the graph, carrying masks from call to call as <see cref="Run(Tensor, bool, out Tensor?)"/> (a call on several
    /// inputs or outputs gets one mask per input and gives one per output: <see cref="Layer.CallMany(ReadOnlySpan{Tensor}, ReadOnlySpan{Tensor?}, Span{Tensor}, bool)"/>
    /// and <see cref="Layer.ComputeMasks"/>), and writes the outputs' masks into <paramref name="outputMasks"/> unless it is empty.
    /// </summary>
    public void Run(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training, Span<Tensor?> outputMasks)
    {
        var maskPool = t_maskBuffers ??= new Stack<Tensor?[]>();
        var masks = maskPool.Count > 0 ? maskPool.Pop() : [];
        int needed = SlotCount + _maxNodeInputs;
        if (masks.Length < needed) masks = new Tensor?[needed];
        try
        {
            RunSlots(inputs, outputs, training, masks);
            for (int i = 0; i < outputMasks.Length; i++) outputMasks[i] = masks[OutputSlots[i]];
        }
        finally
        {
            Array.Clear(masks, 0, needed);
            maskPool.Push(masks);
        }
    }

    private void RunSlots(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training, Tensor?[] masks)
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
                    var x = slots[ins[0]];
                    var mask = masks[ins[0]];
                    slots[node.FirstOutputSlot] = node.Layer.Call(x, mask, training);
                    masks[node.FirstOutputSlot] = node.Layer.ComputeMask(x, mask);
                    continue;
                }
                bool masked = false;
                for (int i = 0; i < ins.Length; i++)
                {
                    scratch[i] = slots[ins[i]];
                    masked |= masks[ins[i]] is not null;
                }
                var outs = slots.AsSpan(node.FirstOutputSlot, node.OutputCount);
                if (!masked)
                {
                    node.Layer.CallMany(scratch[..ins.Length], outs, training);
                    continue;
                }
                var maskScratch = masks.AsSpan(SlotCount, ins.Length);
                for (int i = 0; i < ins.Length; i++) maskScratch[i] = masks[ins[i]];
                node.Layer.CallMany(scratch[..ins.Length], maskScratch, outs, training);
                node.Layer.ComputeMasks(scratch[..ins.Length], maskScratch, masks.AsSpan(node.FirstOutputSlot, node.OutputCount));
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
