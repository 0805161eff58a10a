using Rnnx.Onnx;

namespace Rnnx.Layers;

public partial class RNN
{
    /// <summary>
    /// The cell's ONNX operator on the time-major input, with weights transposed to [num_directions, gates·hidden,
    /// input] in ONNX's gate order and the bias as [Wb, Rb]; the output is transposed back to batch-major (and, going
    /// backwards with return_sequences, reversed into Keras's processing order). Only the main output is exported.
    /// </summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        ExportOnnxCore(graph, input, [], path, returnStates: false, sequenceLens: null)[0];

    /// <summary>
    /// With a mask: ONNX's <c>sequence_lens</c> = Σ_t mask (per sample), which is Keras's masked result when the mask is
    /// right padding (each sequence's steps first, then padding) and the layer returns its last output (ONNX's Y_h is
    /// the state after each sequence's last step, as Keras's carried output). With return_sequences ONNX zeroes the
    /// outputs past each length where Keras repeats the last one, so that is refused. Without
    /// <see cref="OnnxExportOptions.MasksAreRightPadded"/> a mask is refused, since left padding cannot be told apart in the graph.
    /// </summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path, string? mask) =>
        mask is null
            ? ExportOnnx(graph, input, inputShape, path)
            : ExportOnnxCore(graph, input, [], path, returnStates: false, SequenceLens(graph, mask, path, ReturnSequences))[0];

    /// <summary>
    /// ONNX's <c>sequence_lens</c> (int32, Σ_t mask per sample) for a recurrent layer at <paramref name="path"/> that takes
    /// <paramref name="mask"/>; refuses what it cannot express: sequences returned under a mask, or masks not declared right-padded.
    /// </summary>
    /// <exception cref="NotSupportedException">The layer returns sequences, or the export options do not declare right padding.</exception>
    internal static string SequenceLens(OnnxGraph graph, string mask, string path, bool returnSequences)
    {
        if (returnSequences)
            throw new NotSupportedException(
                $"ONNX export: recurrent layer '{path}' returns sequences under a mask; ONNX's sequence_lens zero the outputs past each length where Keras repeats the last one. Export a model whose masked recurrent layers return only their last output, or run the model in Rnnx.");
        if (!graph.MasksAreRightPadded)
            throw new NotSupportedException(
                $"ONNX export: recurrent layer '{path}' takes a mask, which ONNX expresses only as sequence_lens (the number of ones per sample), correct only when every mask is a run of ones followed by zeros (right padding); " +
                "Keras's pad_sequences pads at the front by default, and such a mask would give other results than the model. If your inputs are right-padded, export with OnnxExportOptions.MasksAreRightPadded = true.");
        var lengths = graph.Op("ReduceSum", $"{path}/lengths", [mask, graph.ConstantInt64($"{path}/time_axis", 1)], OnnxGraph.Attr.Int("keepdims", 0));
        return graph.Op("Cast", $"{path}/sequence_lens", [lengths], OnnxGraph.Attr.Int("to", OnnxGraph.Int32));
    }

    /// <summary>The output keeps its mask only with return_sequences.</summary>
    internal override string? ExportOnnxMask(OnnxGraph graph, string input, string path, string? mask) => ReturnSequences ? mask : null;

    /// <summary>[x, initial states...] → [output] or, with return state, [output, final states...]: ONNX's initial_h/initial_c inputs and Y_h/Y_c outputs.</summary>
    internal override string[] ExportOnnxMany(OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        ExportOnnxCore(graph, inputs[0], inputs.Skip(1).ToArray(), path, ReturnState, sequenceLens: null);

    internal string[] ExportOnnxCore(OnnxGraph graph, string input, string[] initialStates, string path, bool returnStates, string? sequenceLens)
    {
        var op = OnnxOperatorOrRefusal(path);
        var (w, r, b) = op.DirectionWeights();
        int features = op.Kernel.Shape[0], cols = op.KerasGateOfOnnxGate.Length * op.Units;
        var inputs = new List<string>
        {
            graph.Op("Transpose", $"{path}/time_major", [input], OnnxGraph.Attr.Ints("perm", 1, 0, 2)),
            graph.Constant($"{path}/W", w, 1, cols, features),
            graph.Constant($"{path}/R", r, 1, cols, op.Units),
        };
        if (b is not null) inputs.Add(graph.Constant($"{path}/B", b, 1, 2 * cols));
        if (sequenceLens is not null || initialStates.Length > 0)
        {
            if (b is null) inputs.Add("");   // no B: an omitted optional input before sequence_lens
            inputs.Add(sequenceLens ?? "");  // sequence_lens: Σ mask, or (omitted) every sequence at full length
        }
        var attrs = OnnxRecurrentOperator.NodeAttributes(path, GoBackwards ? "reverse" : "forward", op);

        if (initialStates.Length > 0)
        {
            for (int i = 0; i < initialStates.Length; i++)   // (batch, units) → (1, batch, units)
                inputs.Add(graph.Op("Unsqueeze", $"{path}/initial_state_{i}", [initialStates[i], graph.ConstantInt64($"{path}/state_axis_{i}", 0)]));
        }
        if (op.Peepholes is { } peepholes)   // input 7, after B, sequence_lens, initial_h, initial_c (omitted: "")
        {
            while (inputs.Count < 7) inputs.Add("");
            inputs.Add(graph.Constant($"{path}/P", peepholes.SelectMany(p => p.Value.ToFloatArray()).ToArray(), 1, peepholes.Length * op.Units));
        }
        if (returnStates)
        {
            int ns = Cell.StateSizes.Count;
            string[] outs = [ReturnSequences ? $"{path}/Y" : "", $"{path}/Y_h", .. ns == 2 ? new[] { $"{path}/Y_c" } : []];
            var produced = graph.Node(op.OpType, [.. inputs], outs, [.. attrs]);
            var states = Enumerable.Range(0, ns).Select(i =>
                graph.Op("Squeeze", $"{path}/state_{i}", [produced[1 + i], graph.ConstantInt64($"{path}/state_squeeze_axis_{i}", 0)])).ToArray();
            string main = ReturnSequences ? BatchMajor(graph, produced[0], path) : states[0];
            return [main, .. states];
        }
        if (ReturnSequences)
        {
            var y = graph.Node(op.OpType, [.. inputs], [$"{path}/Y"], [.. attrs])[0];                      // (time, 1, batch, units)
            return [BatchMajor(graph, y, path)];
        }
        var yh = graph.Node(op.OpType, [.. inputs], ["", $"{path}/Y_h"], [.. attrs])[1];                    // (1, batch, units)
        return [graph.Op("Squeeze", $"{path}/last", [yh, graph.ConstantInt64($"{path}/direction_axis", 0)])];
    }

    /// <summary>ONNX's Y (time, 1, batch, units) as Keras's (batch, time, units), in processing order.</summary>
    private string BatchMajor(OnnxGraph graph, string y, string path)
    {
        y = graph.Op("Squeeze", $"{path}/Y_squeezed", [y, graph.ConstantInt64($"{path}/direction_axis", 1)]);
        y = graph.Op("Transpose", $"{path}/batch_major", [y], OnnxGraph.Attr.Ints("perm", 1, 0, 2));     // (batch, time, units)
        if (GoBackwards) y = graph.FlipTime(y, path);   // Keras returns the outputs in processing order, i.e. reversed in time
        return y;
    }

    /// <summary>The cell's ONNX operator; refuses a custom cell naming the layer.</summary>
    internal OnnxRecurrentOperator OnnxOperatorOrRefusal(string path) => Cell.OnnxOperator ?? throw new NotSupportedException(
        $"ONNX export: recurrent layer '{path}' uses the custom cell {Cell.GetType().Name}; only SimpleRNN, LSTM and GRU cells map to ONNX operators " +
        "(export a model with built-in cells, or run the model in Rnnx).");
}
