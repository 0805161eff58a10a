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
        ExportOnnxCore(graph, input, [], path, returnStates: false)[0];

    /// <summary>[x, initial states...] → [output] or, with return state, [output, final states...]: ONNX's initial_h/initial_c inputs and Y_h/Y_c outputs.</summary>
    internal override string[] ExportOnnxMany(OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        ExportOnnxCore(graph, inputs[0], inputs.Skip(1).ToArray(), path, ReturnState);

    private string[] ExportOnnxCore(OnnxGraph graph, string input, string[] initialStates, string path, bool returnStates)
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
        var attrs = OnnxRecurrentOperator.NodeAttributes(path, GoBackwards ? "reverse" : "forward", op);

        if (initialStates.Length > 0)
        {
            if (op.Bias is null) inputs.Add("");
            inputs.Add("");   // sequence_lens: every sequence has the full length
            for (int i = 0; i < initialStates.Length; i++)   // (batch, units) → (1, batch, units)
                inputs.Add(graph.Op("Unsqueeze", $"{path}/initial_state_{i}", [initialStates[i], graph.ConstantInt64($"{path}/state_axis_{i}", 0)]));
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
