using System.Text.Json.Nodes;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Keras's <c>Bidirectional</c> wrapper: a copy of a recurrent layer reads the sequence forward in time, another copy
/// (with <c>go_backwards</c> set) reads it backward, and their outputs are merged. As Keras: the copies are made from
/// the wrapped layer's config (its weights are not reused) and named <c>forward_{name}</c> and <c>backward_{name}</c>;
/// the weights are the forward layer's then the backward layer's; with <c>return_sequences</c> the backward output is
/// flipped back into time order before merging; <c>return_sequences</c> and <c>return_state</c> come from the wrapped
/// layer. Both directions run as fused whole-sequence ops for the built-in cells.
/// </summary>
/// <remarks>
/// Merge modes: <c>"concat"</c> (default, features of the forward output then the backward one), <c>"sum"</c>,
/// <c>"mul"</c>, <c>"ave"</c> ((y + y_rev) / 2), or <c>null</c> (both outputs, unmerged). With <c>null</c> or with
/// <c>return_state</c> the layer has several outputs, in Keras's order: the merged output (or the forward then the
/// backward output), then the forward layer's final states, then the backward layer's; get them from <see cref="Run"/>,
/// <see cref="Layer.CallMany(IReadOnlyList{Tensor}, bool)"/> or, in a functional model, <see cref="Layer.ApplyMany"/>.
/// Initial states follow the input as extra inputs, the forward layer's first (Keras's split of <c>initial_state</c>).
/// </remarks>
[SavedAs("Bidirectional")]
public sealed class Bidirectional : Layer
{
    /// <summary>Creates the wrapper.</summary>
    /// <param name="layer">The recurrent layer to run in both directions (SimpleRNN, LSTM, GRU or RNN); only its config is used.</param>
    /// <param name="mergeMode"><c>"concat"</c>, <c>"sum"</c>, <c>"mul"</c>, <c>"ave"</c>, or null for two unmerged outputs.</param>
    /// <param name="backwardLayer">
    /// Optional recurrent layer used as it is for the backward direction; it must differ from <paramref name="layer"/> in
    /// <c>go_backwards</c> and agree in <c>return_sequences</c> and <c>return_state</c> (as Keras checks).
    /// </param>
    /// <param name="inputShape">Optional input shape without batch, e.g. [null, 1] (default: the wrapped layer's).</param>
    /// <param name="name">Optional name.</param>
    /// <exception cref="ArgumentException">Not a recurrent layer, an unknown merge mode, or a backward layer that does not fit.</exception>
    /// <exception cref="ShapeMismatchException">A sum, product or average of outputs of different sizes.</exception>
    public Bidirectional(Layer layer, string? mergeMode = "concat", Layer? backwardLayer = null, int?[]? inputShape = null, string? name = null)
        : base(name, inputShape ?? layer?.DeclaredInputShape)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var forward = AsRecurrent(layer, nameof(layer));
        if (mergeMode is not ("concat" or "sum" or "mul" or "ave" or null))
            throw new ArgumentException(
                $"{Name}: invalid merge mode '{mergeMode}'; use one of \"concat\", \"sum\", \"mul\", \"ave\", or null for two unmerged outputs.", nameof(mergeMode));
        MergeMode = mergeMode;
        ForwardLayer = Track(Copy(forward, "forward_" + RemovePrefix(forward.Name, "forward_"), goBackwards: null));
        BackwardLayer = Track(backwardLayer is null
            ? Copy(forward, "backward_" + RemovePrefix(forward.Name, "backward_"), goBackwards: true)
            : AsRecurrent(backwardLayer, nameof(backwardLayer)));
        Verify();
    }

    /// <summary>The layer run forward in time (a copy of the wrapped layer, named <c>forward_...</c>).</summary>
    public RNN ForwardLayer { get; }

    /// <summary>The layer run backward in time (a copy with <c>go_backwards</c> set, or the given backward layer).</summary>
    public RNN BackwardLayer { get; }

    /// <summary><c>"concat"</c>, <c>"sum"</c>, <c>"mul"</c>, <c>"ave"</c>, or null (two outputs).</summary>
    public string? MergeMode { get; }

    /// <summary>Whether every step's output is returned (the wrapped layer's <c>return_sequences</c>).</summary>
    public bool ReturnSequences => ForwardLayer.ReturnSequences;

    /// <summary>Whether both layers' final states are outputs too (the wrapped layer's <c>return_state</c>).</summary>
    public bool ReturnState => ForwardLayer.ReturnState;

    /// <summary>The number of outputs: 1 or 2 (null merge mode), plus each direction's final states with <see cref="ReturnState"/>.</summary>
    public override int OutputCount => (MergeMode is null ? 2 : 1) + (ReturnState ? ForwardLayer.Cell.StateSizes.Count + BackwardLayer.Cell.StateSizes.Count : 0);

    /// <summary>Run both directions with the fused sequence kernels when the cells have them (default true); false runs the composed step loops.</summary>
    public bool UseFusedKernel
    {
        get => ForwardLayer.UseFusedKernel && BackwardLayer.UseFusedKernel;
        set => ForwardLayer.UseFusedKernel = BackwardLayer.UseFusedKernel = value;
    }

    private RNN AsRecurrent(Layer layer, string parameter) => layer as RNN ?? throw new ArgumentException(
        $"{Name}: '{layer.Name}' is a {layer.GetType().Name}; Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU or RNN).", parameter);

    private static string RemovePrefix(string s, string prefix) => s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;

    /// <summary>A fresh layer from <paramref name="layer"/>'s config (Keras re-creates it by serializing and deserializing).</summary>
    private RNN Copy(RNN layer, string name, bool? goBackwards)
    {
        var entry = Architecture.LayerEntry(layer);
        entry["name"] = name;
        if (goBackwards is bool g) ((JsonObject)entry["config"]!)["go_backwards"] = g;
        try
        {
            return (RNN)Architecture.LayerFromEntry(entry, $"{Name}: copying '{layer.Name}' as '{name}'");
        }
        catch (ModelFormatException e)
        {
            throw new ArgumentException($"{Name}: cannot re-create '{layer.Name}' from its config ({e.Message}); register its classes with " +
                "LayerRegistry (and override GetConfig), or pass both directions' layers (layer and backwardLayer).", nameof(layer), e);
        }
    }

    /// <summary>Keras's checks: different directions, same return_sequences and return_state; equal sizes for an elementwise merge.</summary>
    private void Verify()
    {
        RNN f = ForwardLayer, b = BackwardLayer;
        if (f.GoBackwards == b.GoBackwards)
            throw new ArgumentException($"{Name}: the forward layer '{f.Name}' and the backward layer '{b.Name}' must have different go_backwards values; both have {f.GoBackwards}.");
        if (f.ReturnSequences != b.ReturnSequences)
            throw new ArgumentException($"{Name}: the forward layer '{f.Name}' and the backward layer '{b.Name}' must have the same return_sequences; got {f.ReturnSequences} and {b.ReturnSequences}.");
        if (f.ReturnState != b.ReturnState)
            throw new ArgumentException($"{Name}: the forward layer '{f.Name}' and the backward layer '{b.Name}' must have the same return_state; got {f.ReturnState} and {b.ReturnState}.");
        if (MergeMode is "sum" or "mul" or "ave" && f.Cell.OutputSize != b.Cell.OutputSize)
            throw ShapeError($"merge mode '{MergeMode}' combines outputs element by element, but '{f.Name}' gives {OutputText(f)} and '{b.Name}' gives {OutputText(b)}.");
    }

    private static string OutputText(RNN layer) => layer.ReturnSequences ? $"(batch, time, {layer.Cell.OutputSize})" : $"(batch, {layer.Cell.OutputSize})";

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        CheckSequenceShape(inputShape);
        ForwardLayer.BuildInContext(inputShape);
        BackwardLayer.BuildInContext(inputShape);
    }

    /// <summary>Inputs are the sequence, optionally followed by the forward layer's initial states and then the backward layer's.</summary>
    protected override void BuildCore(IReadOnlyList<int?[]> inputShapes)
    {
        CheckInitialStateShapes(inputShapes);
        BuildCore(inputShapes[0]);
    }

    private void CheckSequenceShape(int?[] inputShape)
    {
        if (inputShape.Length != 2 || inputShape[1] is null)
            throw ShapeError($"expects input (batch, time, features) with known features, got (batch, {string.Join(", ", inputShape.Select(d => d?.ToString() ?? "None"))}).");
    }

    /// <summary>None, or as many initial states as both layers have, each fitting its layer (checked by that layer, which names itself).</summary>
    private void CheckInitialStateShapes(IReadOnlyList<int?[]> inputShapes)
    {
        if (inputShapes.Count == 0) throw ShapeError("called with no inputs.");
        int nf = ForwardLayer.Cell.StateSizes.Count, nb = BackwardLayer.Cell.StateSizes.Count, given = inputShapes.Count - 1;
        if (given == 0) return;
        if (given != nf + nb)
            throw ShapeError($"expects {nf + nb} initial states ({nf} for '{ForwardLayer.Name}', then {nb} for '{BackwardLayer.Name}'), got {given}: " +
                $"{string.Join(", ", inputShapes.Skip(1).Select(ShapeText))}.");
        ForwardLayer.ComputeOutputShapes([inputShapes[0], .. inputShapes.Skip(1).Take(nf)]);
        BackwardLayer.ComputeOutputShapes([inputShapes[0], .. inputShapes.Skip(1 + nf)]);
    }

    /// <summary>The shapes (without batch) of every output, in <see cref="Run"/>'s order.</summary>
    /// <exception cref="ShapeMismatchException">The input or an initial state shape does not fit.</exception>
    public override IReadOnlyList<int?[]> ComputeOutputShapes(IReadOnlyList<int?[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        CheckInitialStateShapes(inputShapes);
        CheckSequenceShape(inputShapes[0]);
        var y = ForwardLayer.ComputeOutputShape(inputShapes[0]);
        var yr = BackwardLayer.ComputeOutputShape(inputShapes[0]);
        var shapes = new List<int?[]>();
        if (MergeMode is null) shapes.AddRange([y, yr]);
        else if (MergeMode == "concat") shapes.Add([.. y[..^1], y[^1] + yr[^1]]);
        else shapes.Add(y);
        if (ReturnState)
            foreach (var size in ForwardLayer.Cell.StateSizes.Concat(BackwardLayer.Cell.StateSizes)) shapes.Add([size]);
        return shapes;
    }

    /// <summary>The merged output's shape (without batch).</summary>
    /// <exception cref="InvalidOperationException">A null merge mode: the layer has two outputs and no merged one.</exception>
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        RequireMergeMode();
        return ComputeOutputShapes([inputShape])[0];
    }

    private void RequireMergeMode()
    {
        if (MergeMode is null)
            throw new InvalidOperationException($"{Name}: with merge mode null the layer has {OutputCount} outputs (the forward and the backward one" +
                $"{(ReturnState ? ", then the states" : "")}) and no merged one; call CallMany or Run, or use ApplyMany in a functional model.");
    }

    /// <summary>The merged output (with <see cref="ReturnState"/>, without the states, as <see cref="RNN"/>'s single-output call).</summary>
    protected override Tensor Forward(Tensor input, bool training) => Forward(input, null, training);

    /// <summary>
    /// Takes a mask as Keras's Bidirectional (keras/src/layers/rnn/bidirectional.py, call: <c>forward_layer(sequences,
    /// mask=mask)</c> and <c>backward_layer(sequences, mask=mask)</c>): both directions skip the masked steps, the
    /// backward one reading the sequence and its mask from the end, fused for the built-in cells.
    /// </summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, Tensor mask, bool training) => Forward(input, (Tensor?)mask, training);

    private Tensor Forward(Tensor input, Tensor? mask, bool training)
    {
        RequireMergeMode();
        RunBoth(input, default, training, default, default, out var y, out var yr, mask);
        return Merge(y, yr);
    }

    /// <summary>
    /// The output's mask as Keras's Bidirectional.compute_mask: the input mask when the sequences are returned, none
    /// otherwise; a null merge mode gives it to both outputs, and the states have none.
    /// </summary>
    public override Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        base.ComputeMask(input, mask);
        return ReturnSequences ? mask : null;
    }

    /// <inheritdoc cref="ComputeMask"/>
    public override void ComputeMasks(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks, Span<Tensor?> outputMasks)
    {
        if (inputs.Length == 1 && OutputCount == 1 || masks.Length != inputs.Length || outputMasks.Length != OutputCount)
        {
            base.ComputeMasks(inputs, masks, outputMasks);
            return;
        }
        ForwardLayer.RequireSequenceMaskOnly(inputs, masks);
        outputMasks.Clear();
        int main = MergeMode is null ? 2 : 1;
        for (int i = 0; i < main; i++) outputMasks[i] = ComputeMask(inputs[0], masks[0]);
    }

    /// <summary>Runs on [sequence, initial states...] and writes every output in <see cref="Run"/>'s order.</summary>
    protected override void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training) => ForwardMany(inputs, outputs, training, default);

    /// <summary>As without masks, both directions taking the sequence's mask (an initial state takes none).</summary>
    protected override void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training, ReadOnlySpan<Tensor?> masks)
    {
        if (!masks.IsEmpty) ForwardLayer.RequireSequenceMaskOnly(inputs, masks);
        var mask = masks.IsEmpty ? null : masks[0];
        int nf = ForwardLayer.Cell.StateSizes.Count, nb = BackwardLayer.Cell.StateSizes.Count, first = MergeMode is null ? 2 : 1;
        var init = inputs[1..];
        if (init.Length != 0 && init.Length != nf + nb)
            throw ShapeError($"expects {nf + nb} initial states ({nf} for '{ForwardLayer.Name}', then {nb} for '{BackwardLayer.Name}'), got {init.Length}.");
        RunBoth(inputs[0], init, training, ReturnState ? outputs.Slice(first, nf) : default, ReturnState ? outputs.Slice(first + nf, nb) : default,
            out var y, out var yr, mask);
        if (MergeMode is null)
        {
            outputs[0] = y;
            outputs[1] = yr;
        }
        else outputs[0] = Merge(y, yr);
    }

    /// <summary>Both directions (fused for the built-in cells), the backward sequence flipped back into time order.</summary>
    private void RunBoth(Tensor input, ReadOnlySpan<Tensor> initialState, bool training, Span<Tensor> forwardStates, Span<Tensor> backwardStates,
        out Tensor y, out Tensor yr, Tensor? mask)
    {
        if (input.Rank != 3) throw ShapeError($"expects input (batch, time, features), got {input.Shape}.");
        int nf = ForwardLayer.Cell.StateSizes.Count;
        y = ForwardLayer.RunCore(input, initialState.IsEmpty ? default : initialState[..nf], training, forwardStates, mask);
        yr = BackwardLayer.RunCore(input, initialState.IsEmpty ? default : initialState[nf..], training, backwardStates, mask);
        if (ReturnSequences) yr = Tensor.Flip(yr, 1);
    }

    private Tensor Merge(Tensor y, Tensor yr) => MergeMode switch
    {
        "concat" => Tensor.Concat(-1, y, yr),
        "sum" => y + yr,
        "mul" => y * yr,
        _ => (y + yr) * 0.5,   // "ave": Keras's (y + y_rev) / 2, the same value in floating point
    };

    /// <summary>
    /// Runs the layer and returns every output in Keras's order (<see cref="Layer.CallMany(IReadOnlyList{Tensor}, bool)"/>
    /// with the initial states after the input): the merged output (or, with a null merge mode, the forward output then
    /// the backward one in time order), then, with <see cref="ReturnState"/>, the forward layer's final states and the
    /// backward layer's.
    /// </summary>
    /// <param name="input">(batch, time, features).</param>
    /// <param name="initialState">
    /// Optional initial states as Keras takes them: the forward layer's first, then the backward layer's (e.g.
    /// [h_fwd, c_fwd, h_bwd, c_bwd] for LSTM); zeros when omitted.
    /// </param>
    /// <param name="training">Keras's training flag, passed to both layers; it does not decide recording (see <see cref="Layer.Call(Tensor, bool)"/>).</param>
    /// <exception cref="ArgumentException">The input's dtype differs from the layer's.</exception>
    /// <exception cref="ShapeMismatchException">The input, the number of initial states or one's shape does not fit.</exception>
    public Tensor[] Run(Tensor input, IReadOnlyList<Tensor>? initialState = null, bool training = false) =>
        CallMany([input, .. initialState ?? []], training);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("merge_mode", MergeMode).Set("layer", ForwardLayer).Set("backward_layer", BackwardLayer);

    internal static Bidirectional FromConfig(LayerConfig c) => new(c.GetLayer("layer"),
        c.Contains("merge_mode") ? c.GetString("merge_mode", null) : "concat",
        c.ToJson()["backward_layer"] is null ? null : c.GetLayer("backward_layer"), c.InputShape, c.Name);

    /// <summary>
    /// One ONNX recurrent node with <c>direction="bidirectional"</c> when both layers map onto the same operator with the
    /// same size and settings and the forward layer runs forward; otherwise each layer's own node. The merge is
    /// expressed with ONNX ops after it (Concat, Add, Mul). Called for one tensor, only the merged output is exported
    /// (as RNN exports only its main output); a null merge mode has no merged output and is refused there.
    /// </summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        if (MergeMode is null)
            throw new NotSupportedException($"ONNX export: Bidirectional layer '{path}' has 2 outputs (merge mode null) and no merged one; " +
                "export a model with a merge mode (\"concat\", \"sum\", \"mul\", \"ave\"), or use it in a functional model, or run the model in Rnnx.");
        return ExportOnnxCore(graph, input, inputShape, [], path, returnStates: false)[0];
    }

    /// <summary>
    /// With a mask: both directions get ONNX's <c>sequence_lens</c> (Σ mask per sample, as <see cref="RNN"/>). For right
    /// padding this is Keras's result: the forward direction's last output is its state after each sequence's last step,
    /// and ONNX's reverse direction reads each sequence from its last valid step down to the first, which is what the
    /// backward layer computes when it skips the padding it meets first. Returned sequences under a mask, and masks not
    /// declared right-padded, are refused as for <see cref="RNN"/>.
    /// </summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path, string? mask)
    {
        if (mask is null || MergeMode is null)   // a null merge mode is refused there: no merged output
            return ExportOnnx(graph, input, inputShape, path);
        return ExportOnnxCore(graph, input, inputShape, [], path, returnStates: false, RNN.SequenceLens(graph, mask, path, ReturnSequences))[0];
    }

    /// <summary>The output keeps its mask only with return_sequences.</summary>
    internal override string? ExportOnnxMask(OnnxGraph graph, string input, string path, string? mask) => ReturnSequences ? mask : null;

    /// <summary>[x, initial states...] → every output in <see cref="Run"/>'s order: ONNX's initial_h/initial_c and Y_h/Y_c, both directions stacked.</summary>
    internal override string[] ExportOnnxMany(OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        ExportOnnxCore(graph, inputs[0], inputShapes[0], [.. inputs.Skip(1)], path, ReturnState);

    private string[] ExportOnnxCore(OnnxGraph graph, string input, int?[] inputShape, string[] initialStates, string path, bool returnStates,
        string? sequenceLens = null)
    {
        string fPath = $"{path}/{ForwardLayer.Name}", bPath = $"{path}/{BackwardLayer.Name}";
        var f = ForwardLayer.OnnxOperatorOrRefusal(fPath);
        var b = BackwardLayer.OnnxOperatorOrRefusal(bPath);
        int nf = ForwardLayer.Cell.StateSizes.Count;
        string y, yr;
        string[] forwardStates, backwardStates;
        if (!ForwardLayer.GoBackwards && f.OpType == b.OpType && f.Units == b.Units && (f.Bias is null) == (b.Bias is null)
            && f.Attributes.SequenceEqual(b.Attributes) && f.Peepholes is null && b.Peepholes is null)   // peephole cells export a node per direction, each with its P input
            (y, yr, forwardStates, backwardStates) = ExportOneNode(graph, input, initialStates, sequenceLens, path, f, b, returnStates);
        else if (sequenceLens is not null)   // one node per direction, each with the lengths (no initial states, no returned states here)
            (y, yr, forwardStates, backwardStates) = (ForwardLayer.ExportOnnxCore(graph, input, [], fPath, false, sequenceLens)[0],
                BackwardLayer.ExportOnnxCore(graph, input, [], bPath, false, sequenceLens)[0], [], []);
        else
        {
            var fOut = ForwardLayer.ExportOnnxMany(graph, [input, .. initialStates.Take(nf)], [inputShape, .. ForwardLayer.Cell.StateSizes.Select(s => new int?[] { s })], fPath);
            var bOut = BackwardLayer.ExportOnnxMany(graph, [input, .. initialStates.Skip(nf)], [inputShape, .. BackwardLayer.Cell.StateSizes.Select(s => new int?[] { s })], bPath);
            (y, yr) = (fOut[0], ReturnSequences ? graph.FlipTime(bOut[0], bPath) : bOut[0]);
            (forwardStates, backwardStates) = (fOut[1..], bOut[1..]);
        }
        string[] main = MergeMode switch
        {
            null => [y, yr],
            "concat" => [graph.Op("Concat", $"{path}/concat", [y, yr], OnnxGraph.Attr.Int("axis", -1))],
            "sum" => [graph.Op("Add", $"{path}/sum", [y, yr])],
            "mul" => [graph.Op("Mul", $"{path}/mul", [y, yr])],
            _ => [graph.Op("Mul", $"{path}/ave", [graph.Op("Add", $"{path}/sum", [y, yr]), graph.Constant($"{path}/half", [0.5f])])],
        };
        return returnStates ? [.. main, .. forwardStates, .. backwardStates] : main;
    }

    /// <summary>
    /// The bidirectional node; returns the forward and backward outputs (batch-major, in time order) and, with
    /// <paramref name="returnStates"/>, each direction's final states.
    /// </summary>
    private (string Y, string YRev, string[] ForwardStates, string[] BackwardStates) ExportOneNode(OnnxGraph graph, string input, string[] initialStates,
        string? sequenceLens, string path, OnnxRecurrentOperator f, OnnxRecurrentOperator b, bool returnStates)
    {
        var (fw, fr, fb) = f.DirectionWeights();
        var (bw, br, bb) = b.DirectionWeights();
        int features = f.Kernel.Shape[0], cols = f.KerasGateOfOnnxGate.Length * f.Units, ns = ForwardLayer.Cell.StateSizes.Count;
        var inputs = new List<string>
        {
            graph.Op("Transpose", $"{path}/time_major", [input], OnnxGraph.Attr.Ints("perm", 1, 0, 2)),
            graph.Constant($"{path}/W", [.. fw, .. bw], 2, cols, features),
            graph.Constant($"{path}/R", [.. fr, .. br], 2, cols, f.Units),
        };
        if (fb is not null) inputs.Add(graph.Constant($"{path}/B", [.. fb, .. bb!], 2, 2 * cols));
        if (initialStates.Length > 0 || sequenceLens is not null)
        {
            if (fb is null) inputs.Add("");
            inputs.Add(sequenceLens ?? "");   // sequence_lens: Σ mask, or (omitted) every sequence at full length
            for (int i = 0; i < ns && initialStates.Length > 0; i++)   // initial_h (then initial_c): the forward layer's state i over the backward layer's, (2, batch, units)
                inputs.Add(graph.Op("Concat", $"{path}/initial_state_{i}", [
                    graph.Op("Unsqueeze", $"{path}/forward_state_{i}", [initialStates[i], graph.ConstantInt64($"{path}/forward_state_axis_{i}", 0)]),
                    graph.Op("Unsqueeze", $"{path}/backward_state_{i}", [initialStates[ns + i], graph.ConstantInt64($"{path}/backward_state_axis_{i}", 0)])],
                    OnnxGraph.Attr.Int("axis", 0)));
        }
        var attrs = OnnxRecurrentOperator.NodeAttributes(path, "bidirectional", f, b);
        string[] outs = [ReturnSequences ? $"{path}/Y" : "", $"{path}/Y_h", .. returnStates && ns == 2 ? new[] { $"{path}/Y_c" } : []];
        var produced = graph.Node(f.OpType, [.. inputs], outs, [.. attrs]);
        string Direction(string all, int axis, int d, string hint) =>
            graph.Op("Gather", $"{path}/{hint}", [all, graph.ConstantInt64Scalar($"{path}/{hint}_index", d)], OnnxGraph.Attr.Int("axis", axis));
        string y, yr;
        if (ReturnSequences)
        {
            // Y is (time, 2, batch, units); ONNX gives the reverse direction's outputs in time order, as Keras's flipped y_rev.
            var directions = graph.Op("Transpose", $"{path}/batch_major", [produced[0]], OnnxGraph.Attr.Ints("perm", 2, 0, 1, 3));   // (batch, time, 2, units)
            (y, yr) = (Direction(directions, 2, 0, "forward"), Direction(directions, 2, 1, "backward"));
        }
        else (y, yr) = (Direction(produced[1], 0, 0, "forward"), Direction(produced[1], 0, 1, "backward"));   // Y_h (2, batch, units)
        if (!returnStates) return (y, yr, [], []);
        string[] States(int d, string hint) => [.. Enumerable.Range(0, ns).Select(i => Direction(produced[1 + i], 0, d, $"{hint}_state_{i}"))];
        return (y, yr, States(0, "forward_final"), States(1, "backward_final"));
    }
}
