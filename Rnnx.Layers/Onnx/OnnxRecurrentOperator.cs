using Rnnx.Layers;

namespace Rnnx.Onnx;

/// <summary>
/// How a built-in cell maps onto one of ONNX's recurrent operators (RNN, LSTM, GRU); <see cref="RNN"/> and
/// <see cref="Bidirectional"/> use it to reorder the weights and wrap the time-major operator.
/// </summary>
/// <param name="OpType">The ONNX operator.</param>
/// <param name="Units">The hidden size.</param>
/// <param name="KerasGateOfOnnxGate">For each ONNX gate in ONNX order, the index of the same gate in Keras's weight layout.</param>
/// <param name="Kernel">The input kernel (features, gates·units).</param>
/// <param name="RecurrentKernel">The recurrent kernel (units, gates·units).</param>
/// <param name="Bias">The bias (gates·units,) or (2, gates·units) with separate recurrent biases, or null.</param>
/// <param name="Activations">The activations in the order of the operator's <c>activations</c> attribute.</param>
/// <param name="Attributes">Operator attributes besides activations, hidden size and direction.</param>
internal sealed record OnnxRecurrentOperator(string OpType, int Units, int[] KerasGateOfOnnxGate, Parameter Kernel, Parameter RecurrentKernel,
    Parameter? Bias, Activation[] Activations, OnnxGraph.Attr[] Attributes)
{
    /// <summary>
    /// One direction's weights in ONNX's layout: W (gates·units, features) and R (gates·units, units), each row an ONNX
    /// gate's unit (transposed from Keras's columns and reordered into ONNX's gate order), and B = [Wb, Rb]
    /// (2·gates·units,) or null without a bias. Appending a second direction's arrays gives the bidirectional layout.
    /// </summary>
    public (float[] W, float[] R, float[]? B) DirectionWeights()
    {
        int gates = KerasGateOfOnnxGate.Length, features = Kernel.Shape[0], cols = gates * Units;
        var k = Kernel.Value.ToFloatArray();
        var rk = RecurrentKernel.Value.ToFloatArray();
        var w = new float[cols * features];
        var r = new float[cols * Units];
        for (int og = 0; og < gates; og++)
            for (int u = 0; u < Units; u++)
            {
                int src = KerasGateOfOnnxGate[og] * Units + u, dst = og * Units + u;
                for (int f = 0; f < features; f++) w[dst * features + f] = k[f * cols + src];
                for (int j = 0; j < Units; j++) r[dst * Units + j] = rk[j * cols + src];
            }
        if (Bias is null) return (w, r, null);
        var b = Bias.Value.ToFloatArray();
        var bb = new float[2 * cols];
        bool twoRows = b.Length == 2 * cols;   // GRU reset_after: (2, 3·units) = [input bias; recurrent bias]
        for (int og = 0; og < gates; og++)
            for (int u = 0; u < Units; u++)
            {
                int src = KerasGateOfOnnxGate[og] * Units + u, dst = og * Units + u;
                bb[dst] = b[src];
                if (twoRows) bb[cols + dst] = b[cols + src];
            }
        return (w, r, bb);
    }

    /// <summary>
    /// The <c>activations</c> attribute (and <c>activation_alpha</c>/<c>activation_beta</c> for linear, ONNX's Affine
    /// with α = 1, β = 0) for the given directions' operators, forward first, then the attributes that do not depend on
    /// the direction, hidden size and <paramref name="direction"/>.
    /// </summary>
    public static List<OnnxGraph.Attr> NodeAttributes(string path, string direction, params OnnxRecurrentOperator[] directions)
    {
        var attrs = new List<OnnxGraph.Attr>(directions[0].Attributes);
        var names = directions.SelectMany(d => d.Activations).Select(a => OnnxGraph.RecurrentActivationName(a, path)).ToArray();
        attrs.Add(OnnxGraph.Attr.Strings("activations", names));
        if (names.Contains("Affine"))
        {
            attrs.Add(OnnxGraph.Attr.Floats("activation_alpha", names.Where(n => n == "Affine").Select(_ => 1f).ToArray()));
            attrs.Add(OnnxGraph.Attr.Floats("activation_beta", names.Where(n => n == "Affine").Select(_ => 0f).ToArray()));
        }
        attrs.Add(OnnxGraph.Attr.Int("hidden_size", directions[0].Units));
        attrs.Add(OnnxGraph.Attr.String("direction", direction));
        return attrs;
    }
}
