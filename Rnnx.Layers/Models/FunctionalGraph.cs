using Rnnx.Layers;

namespace Rnnx.Models;

/// <summary>
/// The graph of a functional model traced from its symbolic inputs and outputs: the layer calls that lead from the
/// inputs to the outputs, in creation order (a topological order: a call's inputs exist before it), as a
/// <see cref="LayerGraph"/> over slots.
/// </summary>
internal sealed class FunctionalGraph
{
    private FunctionalGraph(SymbolicTensor[] inputs, SymbolicTensor[] outputs, List<Layer> layers, LayerGraph graph, LayerNode[] nodes)
    {
        Inputs = inputs;
        Outputs = outputs;
        Layers = layers;
        Graph = graph;
        SymbolicNodes = nodes;
    }

    public IReadOnlyList<SymbolicTensor> Inputs { get; }

    public IReadOnlyList<SymbolicTensor> Outputs { get; }

    /// <summary>The input layers in input order, then every other layer once, in the order of its first call.</summary>
    public List<Layer> Layers { get; }

    public LayerGraph Graph { get; }

    /// <summary>Every call of the model, input layers first, then in graph order (for the summary and saving).</summary>
    public IReadOnlyList<LayerNode> SymbolicNodes { get; }

    /// <summary>The inputs' declared shapes; a shape given to Build must fit the first.</summary>
    public IReadOnlyList<int?[]> InputShapes(int?[]? given) => Inputs.Select(t => t.ShapeArray).ToArray();

    /// <exception cref="ArgumentException">Bad inputs or outputs, a disconnected graph, or two layers sharing a name (see <see cref="Model"/>'s constructor).</exception>
    public static FunctionalGraph Trace(IReadOnlyList<SymbolicTensor> inputs, IReadOnlyList<SymbolicTensor> outputs, string model)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (inputs.Count == 0) throw new ArgumentException($"{model}: a model needs at least one input.", nameof(inputs));
        if (outputs.Count == 0) throw new ArgumentException($"{model}: a model needs at least one output.", nameof(outputs));
        var ins = inputs.ToArray();
        var outs = outputs.ToArray();
        var inputNodes = new HashSet<LayerNode>(ReferenceEqualityComparer.Instance);
        foreach (var t in ins)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(inputs));
            if (t.Layer is not InputLayer)
                throw new ArgumentException($"{model}: model inputs must be made with new Input(shape); {t} comes from layer '{t.Layer.Name}' ({t.Layer.GetType().Name}).", nameof(inputs));
            if (!inputNodes.Add(t.Node)) throw new ArgumentException($"{model}: input '{t.Layer.Name}' is given twice.", nameof(inputs));
        }

        // Walk back from the outputs: every call they need, stopping at the model's inputs.
        var needed = new HashSet<LayerNode>(ReferenceEqualityComparer.Instance);
        var usedInputs = new HashSet<LayerNode>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(LayerNode Node, SymbolicTensor Output)>();
        foreach (var o in outs)
        {
            ArgumentNullException.ThrowIfNull(o, nameof(outputs));
            stack.Push((o.Node, o));
        }
        while (stack.Count > 0)
        {
            var (node, output) = stack.Pop();
            if (inputNodes.Contains(node))
            {
                usedInputs.Add(node);
                continue;
            }
            if (node.Layer is InputLayer)
                throw new ArgumentException(
                    $"{model}: graph disconnected: output {output} needs input '{node.Layer.Name}' {Layer.ShapeText(node.Layer.DeclaredInputShape!)}, which is not among the model's inputs ({string.Join(", ", ins.Select(t => t.Layer.Name))}).",
                    nameof(inputs));
            if (!needed.Add(node)) continue;
            foreach (var t in node.Inputs) stack.Push((t.Node, output));
        }
        foreach (var t in ins)
            if (!usedInputs.Contains(t.Node))
                throw new ArgumentException($"{model}: input '{t.Layer.Name}' {Layer.ShapeText(t.ShapeArray)} is not connected to any output.", nameof(inputs));

        // Creation order is topological; slots: inputs first, then each call's outputs.
        var order = needed.OrderBy(n => n.Id).ToArray();
        var slotOf = new Dictionary<(LayerNode, int), int>();
        for (int i = 0; i < ins.Length; i++) slotOf[(ins[i].Node, 0)] = i;
        int next = ins.Length;
        var nodes = new GraphNode[order.Length];
        for (int k = 0; k < order.Length; k++)
        {
            var n = order[k];
            var inSlots = n.Inputs.Select(t => slotOf[(t.Node, t.TensorIndex)]).ToArray();
            nodes[k] = new GraphNode(n.Layer, inSlots, next, n.Outputs.Count, n);
            for (int i = 0; i < n.Outputs.Count; i++) slotOf[(n, i)] = next + i;
            next += n.Outputs.Count;
        }
        var outSlots = outs.Select(o => slotOf[(o.Node, o.TensorIndex)]).ToArray();

        var layers = new List<Layer>();
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        foreach (var t in ins) if (seen.Add(t.Layer)) layers.Add(t.Layer);
        foreach (var n in order) if (seen.Add(n.Layer)) layers.Add(n.Layer);
        var byName = new Dictionary<string, Layer>(StringComparer.Ordinal);
        foreach (var l in layers)
            if (byName.TryGetValue(l.Name, out var other) && l.HasExplicitName && other.HasExplicitName)
                throw new ArgumentException($"{model}: two different layers are named '{l.Name}' ({other.GetType().Name} and {l.GetType().Name}); names must be unique.", nameof(outputs));
            else byName.TryAdd(l.Name, l);
        return new FunctionalGraph(ins, outs, layers, new LayerGraph(ins.Length, nodes, outSlots, next), [.. ins.Select(t => t.Node), .. order]);
    }
}
