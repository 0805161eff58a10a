using System.Globalization;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Saving;
using static Rnnx.Onnx.OnnxGraph;

namespace Rnnx.Onnx;

/// <summary>Options of <see cref="OnnxExporter"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>The default-domain opset (17 or later: LayerNormalization is an opset-17 operator). Default 17.</summary>
    public int Opset { get; set; } = 17;

    /// <summary>Name of the graph input (default <c>input</c>).</summary>
    public string InputName { get; set; } = "input";

    /// <summary>Name of the graph output (default <c>output</c>).</summary>
    public string OutputName { get; set; } = "output";

    /// <summary>
    /// For a model trained on a standardized series, (x − mean) / std: the exported graph then takes the raw series and
    /// returns forecasts on the raw scale (it standardizes the input and applies y·std + mean to the output). Null
    /// (default) exports the model as it is.
    /// </summary>
    public (double Mean, double Std)? Standardization { get; set; }
}

/// <summary>
/// Exports a trained <see cref="Sequential"/> model to ONNX (https://onnx.ai), written with a built-in protobuf encoder
/// (no dependency), for ONNX Runtime or any other ONNX runtime. The graph takes <c>input</c> (batch, steps, features) —
/// batch and unknown lengths are symbolic — and returns <c>output</c> in float32.
/// </summary>
/// <remarks>
/// <para>Operators (opset 17): Dense → MatMul + Add (MatMul broadcasts over (batch, time, features));
/// Flatten → Flatten; TimeDistributed → its layer on the last axis (Dense, activations, LayerNormalization) or a
/// Reshape around it; SimpleRNN/LSTM/GRU (and <see cref="RNN"/> over their cells) → RNN/LSTM/GRU with weights
/// transposed to [num_directions, gates·hidden, input], LSTM gates permuted from Keras's i, f, c, o to ONNX's i, o, f, c,
/// GRU bias rows as [Wb, Rb] with <c>linear_before_reset = 1</c> for reset_after, inputs and outputs transposed around
/// the time-major operator; Conv1D → Conv on (batch, channels, length) with causal padding as pads [left, 0] and
/// "same" as TensorFlow's split; LayerNormalization → LayerNormalization (axis −1); activations tanh, sigmoid, relu.</para>
/// <para>Not exported (a <see cref="NotSupportedException"/> names the layer): custom cells and layers, custom
/// activations, <c>return_state</c> outputs (only the main output is exported). Float64 models are exported with their
/// weights rounded to float32.</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>Exports the model to an ONNX file, atomically.</summary>
    /// <exception cref="NotSupportedException">A layer, cell or activation has no ONNX equivalent (named).</exception>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    public static void Export(Sequential model, string path, OnnxExportOptions? options = null)
    {
        var bytes = Export(model, options);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>The serialized ONNX ModelProto of the model.</summary>
    /// <exception cref="NotSupportedException">A layer, cell or activation has no ONNX equivalent (named).</exception>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    public static byte[] Export(Sequential model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        if (!model.IsBuilt) throw new InvalidOperationException($"{model.Name}: build the model before exporting it.");
        if (options.Opset < 17) throw new ArgumentOutOfRangeException(nameof(options), options.Opset, "ONNX export needs opset 17 or later (LayerNormalization).");
        var g = new OnnxGraph();
        string input = g.Reserve(options.InputName);
        string output = options.OutputName;
        var x = input;
        var shape = model.InputShape!;
        if (options.Standardization is (double mean, double std))
        {
            if (!(std > 0) || !double.IsFinite(mean) || !double.IsFinite(std)) throw new ArgumentException("Standardization needs a finite mean and a positive std.", nameof(options));
            x = g.Op("Sub", "standardize/centered", [x, g.Constant("standardize/mean", [(float)mean])]);
            x = g.Op("Div", "standardize/scaled", [x, g.Constant("standardize/std", [(float)std])]);
        }
        foreach (var layer in model.Layers)
        {
            x = ExportLayer(g, layer, x, shape, layer.Name);
            shape = layer.ComputeOutputShape(shape);
        }
        if (options.Standardization is (double m2, double s2))
        {
            x = g.Op("Mul", "unstandardize/scaled", [x, g.Constant("unstandardize/std", [(float)s2])]);
            x = g.Op("Add", "unstandardize/shifted", [x, g.Constant("unstandardize/mean", [(float)m2])]);
        }
        g.Reserve(output);
        g.NodeWithOutputs("Identity", [x], [output]);

        var inDims = new List<object> { "batch" };
        for (int i = 0; i < model.InputShape!.Length; i++) inDims.Add(model.InputShape[i] is int v ? v : (object)(i == 0 ? "steps" : $"input_dim{i + 1}"));
        var outDims = new List<object> { "batch" };
        for (int i = 0; i < shape.Length; i++) outDims.Add(shape[i] is int v ? v : (object)$"output_dim{i + 1}");
        var meta = new Dictionary<string, string> { ["rnnx.model"] = model.Name };
        if (options.Standardization is (double m3, double s3))
        {
            meta["rnnx.standardization.mean"] = m3.ToString("R", CultureInfo.InvariantCulture);
            meta["rnnx.standardization.std"] = s3.ToString("R", CultureInfo.InvariantCulture);
        }
        return g.ToModel(model.Name, (input, inDims), (output, outDims), options.Opset,
            $"Exported by Rnnx from the Sequential model '{model.Name}' ({model.Layers.Count} layers, {model.CountParams()} parameters).", meta);
    }

    private static string ExportLayer(OnnxGraph g, Layer layer, string x, int?[] inShape, string path)
    {
        switch (layer)
        {
            case InputLayer:
                return x;
            case Dense d:
                {
                    var y = g.Op("MatMul", $"{path}/matmul", [x, Weight(g, d.Kernel, path)]);
                    if (d.Bias is not null) y = g.Op("Add", $"{path}/bias_add", [y, Weight(g, d.Bias, path)]);
                    return Activate(g, d.Activation, y, path);
                }
            case Flatten:
                return g.Op("Flatten", $"{path}/flatten", [x], Attr.Int("axis", 1));
            case ActivationLayer a:
                return Activate(g, a.Activation, x, path);
            case LayerNormalization n:
                return g.Op("LayerNormalization", $"{path}/layer_norm", [x, Weight(g, n.Gamma, path), Weight(g, n.Beta, path)],
                    Attr.Int("axis", -1), Attr.Float("epsilon", (float)n.Epsilon));
            case Conv1D c:
                return Conv(g, c, x, inShape, path);
            case TimeDistributed t:
                return TimeDistributed(g, t, x, inShape, path);
            case RNN r:
                return Recurrent(g, r, x, path);
            default:
                throw new NotSupportedException(
                    $"ONNX export: layer '{path}' is a {layer.GetType().Name}, which has no ONNX equivalent (supported: Dense, Flatten, " +
                    "InputLayer, ActivationLayer, LayerNormalization, Conv1D, TimeDistributed, SimpleRNN, LSTM, GRU, and RNN over their cells).");
        }
    }

    private static string Weight(OnnxGraph g, Parameter p, string path) =>
        g.Constant($"{path}/{p.Name}", p.Value.ToFloatArray(), p.Shape.ToArray().Select(d => (long)d).ToArray());

    private static string Activate(OnnxGraph g, Activation a, string x, string path) => a.Name switch
    {
        "linear" when a.IsLinear => x,
        "tanh" when ReferenceEquals(a, Activation.Tanh) => g.Op("Tanh", $"{path}/tanh", [x]),
        "sigmoid" when ReferenceEquals(a, Activation.Sigmoid) => g.Op("Sigmoid", $"{path}/sigmoid", [x]),
        "relu" when ReferenceEquals(a, Activation.Relu) => g.Op("Relu", $"{path}/relu", [x]),
        "softmax" when ReferenceEquals(a, Activation.Softmax) => g.Op("Softmax", $"{path}/softmax", [x], Attr.Int("axis", -1)),
        "softplus" when ReferenceEquals(a, Activation.Softplus) => g.Op("Softplus", $"{path}/softplus", [x]),
        "elu" when ReferenceEquals(a, Activation.Elu) => g.Op("Elu", $"{path}/elu", [x], Attr.Float("alpha", 1f)),
        "selu" when ReferenceEquals(a, Activation.Selu) => g.Op("Selu", $"{path}/selu", [x],
            Attr.Float("alpha", (float)Rnnx.Kernels.ActivationKernels.SeluAlpha), Attr.Float("gamma", (float)Rnnx.Kernels.ActivationKernels.SeluScale)),
        "swish" when ReferenceEquals(a, Activation.Swish) => g.Op("Mul", $"{path}/swish", [x, g.Op("Sigmoid", $"{path}/swish_gate", [x])]),
        "gelu" when ReferenceEquals(a, Activation.Gelu) => Gelu(g, x, path),
        _ => throw new NotSupportedException($"ONNX export: layer '{path}' uses the custom activation '{a.Name}', which cannot be exported (built-ins: tanh, sigmoid, relu, softmax, softplus, elu, selu, swish, gelu, linear)."),
    };

    /// <summary>Exact gelu for opsets before 20 (which lack a Gelu operator): ½ x (1 + Erf(x / √2)).</summary>
    private static string Gelu(OnnxGraph g, string x, string path)
    {
        var scaled = g.Op("Mul", $"{path}/gelu_scale", [x, g.Constant($"{path}/gelu_inv_sqrt2", [0.70710678118654752f])]);
        var onePlusErf = g.Op("Add", $"{path}/gelu_one_plus_erf", [g.Op("Erf", $"{path}/gelu_erf", [scaled]), g.Constant($"{path}/gelu_one", [1f])]);
        var half = g.Op("Mul", $"{path}/gelu_half_x", [x, g.Constant($"{path}/gelu_half", [0.5f])]);
        return g.Op("Mul", $"{path}/gelu", [half, onePlusErf]);
    }

    private static string Conv(OnnxGraph g, Conv1D c, string x, int?[] inShape, string path)
    {
        int k = c.KernelSize, cin = c.Kernel.Shape[1], cout = c.Filters;
        var kernel = c.Kernel.Value.ToFloatArray();
        var w = new float[cout * cin * k];
        for (int o = 0; o < cout; o++)
            for (int ch = 0; ch < cin; ch++)
                for (int i = 0; i < k; i++)
                    w[(o * cin + ch) * k + i] = kernel[(i * cin + ch) * cout + o];
        var inputs = new List<string> { g.Op("Transpose", $"{path}/to_ncw", [x], Attr.Ints("perm", 0, 2, 1)), g.Constant($"{path}/kernel_oik", w, cout, cin, k) };
        if (c.Bias is not null) inputs.Add(Weight(g, c.Bias, path));
        var attrs = new List<Attr>
        {
            Attr.Ints("kernel_shape", k),
            Attr.Ints("strides", c.Strides),
            Attr.Ints("dilations", c.DilationRate),
        };
        int span = c.DilationRate * (k - 1);
        switch (c.Padding)
        {
            case Conv1DPadding.Valid:
                attrs.Add(Attr.Ints("pads", 0, 0));
                break;
            case Conv1DPadding.Causal:
                attrs.Add(Attr.Ints("pads", span, 0));
                break;
            default:
                if (c.Strides == 1) attrs.Add(Attr.Ints("pads", span / 2, span - span / 2));   // TensorFlow's split: the extra column on the right
                else attrs.Add(Attr.String("auto_pad", "SAME_UPPER"));
                break;
        }
        var y = g.Op("Conv", $"{path}/conv", [.. inputs], [.. attrs]);
        y = g.Op("Transpose", $"{path}/to_nwc", [y], Attr.Ints("perm", 0, 2, 1));
        return Activate(g, c.Activation, y, path);
    }

    private static string TimeDistributed(OnnxGraph g, TimeDistributed t, string x, int?[] inShape, string path)
    {
        var inner = t.Layer;
        // Layers that act on the last axis only are the same on (batch, time, ...) as on (batch·time, ...).
        if (inner is Dense or ActivationLayer or LayerNormalization or InputLayer)
            return ExportLayer(g, inner, x, inShape[1..], $"{path}/{inner.Name}");
        var innerIn = inShape[1..];
        var innerOut = inner.ComputeOutputShape(innerIn);
        if (innerIn.Any(d => d is null) || innerOut.Any(d => d is null))
            throw new NotSupportedException($"ONNX export: TimeDistributed layer '{path}' wraps a {inner.GetType().Name} whose per-step shape is not fully known.");
        var flat = g.Op("Reshape", $"{path}/merge_time", [x, g.ConstantInt64($"{path}/merged_shape", [-1, .. innerIn.Select(d => (long)d!.Value)])]);
        var y = ExportLayer(g, inner, flat, innerIn, $"{path}/{inner.Name}");
        var xShape = g.Op("Shape", $"{path}/input_shape", [x]);
        var bt = g.Op("Slice", $"{path}/batch_time", [xShape, g.ConstantInt64($"{path}/zero", 0), g.ConstantInt64($"{path}/two", 2)]);
        var outShape = g.Op("Concat", $"{path}/split_shape", [bt, g.ConstantInt64($"{path}/step_shape", innerOut.Select(d => (long)d!.Value).ToArray())], Attr.Int("axis", 0));
        return g.Op("Reshape", $"{path}/split_time", [y, outShape]);
    }

    private static string OnnxActivation(Activation a, string path) => a.Name switch
    {
        "tanh" when ReferenceEquals(a, Activation.Tanh) => "Tanh",
        "sigmoid" when ReferenceEquals(a, Activation.Sigmoid) => "Sigmoid",
        "relu" when ReferenceEquals(a, Activation.Relu) => "Relu",
        "linear" when a.IsLinear => "Affine",
        _ => throw new NotSupportedException($"ONNX export: recurrent layer '{path}' uses the custom activation '{a.Name}', which cannot be exported (built-ins: tanh, sigmoid, relu, linear)."),
    };

    private static string Recurrent(OnnxGraph g, RNN r, string x, string path)
    {
        string op;
        int units, gates;
        int[] perm;               // ONNX gate index → Keras gate index
        Parameter kernel, recurrent;
        Parameter? bias;
        Activation[] activations;
        var attrs = new List<Attr>();
        switch (r.Cell)
        {
            case SimpleRNNCell s:
                (op, units, gates, perm, kernel, recurrent, bias) = ("RNN", s.Units, 1, [0], s.Kernel, s.RecurrentKernel, s.Bias);
                activations = [s.Activation];
                break;
            case LSTMCell l:
                (op, units, gates, perm, kernel, recurrent, bias) = ("LSTM", l.Units, 4, [0, 3, 1, 2], l.Kernel, l.RecurrentKernel, l.Bias);
                activations = [l.RecurrentActivation, l.Activation, l.Activation];
                break;
            case GRUCell gr:
                (op, units, gates, perm, kernel, recurrent, bias) = ("GRU", gr.Units, 3, [0, 1, 2], gr.Kernel, gr.RecurrentKernel, gr.Bias);
                activations = [gr.RecurrentActivation, gr.Activation];
                attrs.Add(Attr.Int("linear_before_reset", gr.ResetAfter ? 1 : 0));
                break;
            default:
                throw new NotSupportedException(
                    $"ONNX export: recurrent layer '{path}' uses the custom cell {r.Cell.GetType().Name}; only SimpleRNN, LSTM and GRU cells map to ONNX operators " +
                    "(export a model with built-in cells, or run the model in Rnnx).");
        }
        int features = kernel.Shape[0];
        var k = kernel.Value.ToFloatArray();
        var rk = recurrent.Value.ToFloatArray();
        int cols = gates * units;
        var w = new float[cols * features];
        var rr = new float[cols * units];
        for (int og = 0; og < gates; og++)
            for (int u = 0; u < units; u++)
            {
                int src = perm[og] * units + u, dst = og * units + u;
                for (int f = 0; f < features; f++) w[dst * features + f] = k[f * cols + src];
                for (int j = 0; j < units; j++) rr[dst * units + j] = rk[j * cols + src];
            }
        var inputs = new List<string>
        {
            g.Op("Transpose", $"{path}/time_major", [x], Attr.Ints("perm", 1, 0, 2)),
            g.Constant($"{path}/W", w, 1, cols, features),
            g.Constant($"{path}/R", rr, 1, cols, units),
        };
        if (bias is not null)
        {
            var b = bias.Value.ToFloatArray();
            var bb = new float[2 * cols];
            bool twoRows = b.Length == 2 * cols;   // GRU reset_after: (2, 3·units) = [input bias; recurrent bias]
            for (int og = 0; og < gates; og++)
                for (int u = 0; u < units; u++)
                {
                    int src = perm[og] * units + u, dst = og * units + u;
                    bb[dst] = b[src];
                    if (twoRows) bb[cols + dst] = b[cols + src];
                }
            inputs.Add(g.Constant($"{path}/B", bb, 1, 2 * cols));
        }
        var names = activations.Select(a => OnnxActivation(a, path)).ToArray();
        attrs.Add(Attr.Strings("activations", names));
        if (names.Contains("Affine"))
        {
            attrs.Add(Attr.Floats("activation_alpha", names.Where(n => n == "Affine").Select(_ => 1f).ToArray()));
            attrs.Add(Attr.Floats("activation_beta", names.Where(n => n == "Affine").Select(_ => 0f).ToArray()));
        }
        attrs.Add(Attr.Int("hidden_size", units));
        attrs.Add(Attr.String("direction", r.GoBackwards ? "reverse" : "forward"));

        if (r.ReturnSequences)
        {
            var y = g.Node(op, [.. inputs], [$"{path}/Y"], [.. attrs])[0];                      // (time, 1, batch, units)
            y = g.Op("Squeeze", $"{path}/Y_squeezed", [y, g.ConstantInt64($"{path}/direction_axis", 1)]);
            y = g.Op("Transpose", $"{path}/batch_major", [y], Attr.Ints("perm", 1, 0, 2));     // (batch, time, units)
            if (r.GoBackwards)   // Keras returns the outputs in processing order, i.e. reversed in time
                y = g.Op("Slice", $"{path}/reversed", [y, g.ConstantInt64($"{path}/rev_start", -1), g.ConstantInt64($"{path}/rev_end", long.MinValue),
                    g.ConstantInt64($"{path}/rev_axis", 1), g.ConstantInt64($"{path}/rev_step", -1)]);
            return y;
        }
        var yh = g.Node(op, [.. inputs], ["", $"{path}/Y_h"], [.. attrs])[1];                    // (1, batch, units)
        return g.Op("Squeeze", $"{path}/last", [yh, g.ConstantInt64($"{path}/direction_axis", 0)]);
    }
}
