using System.Globalization;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Saving;

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

    /// <summary>
    /// For a forecaster trained on scaled windows (<see cref="Rnnx.Data.SeriesScaler"/>, any of its scalings): the graph
    /// then takes raw windows, (batch, <see cref="Rnnx.Data.SeriesScaler.Lookback"/> + window, 1), scales each one
    /// inside the graph, and returns forecasts in the series' units (the inverse applied to the model's output). Null
    /// (default) exports the model as it is. Not together with <see cref="Standardization"/>.
    /// </summary>
    public Rnnx.Data.SeriesScaler? Scaler { get; set; }

    /// <summary>
    /// With <see cref="Scaler"/>: the transform applied before the scaling (log or Box–Cox), inverted on the forecasts,
    /// so the graph still maps raw values to raw forecasts. Null means none.
    /// </summary>
    public Rnnx.Data.SeriesTransform? Transform { get; set; }

    /// <summary>
    /// Lets a masked recurrent layer be exported: the exported graph assumes every mask is a run of ones followed by
    /// zeros (right padding, Keras's <c>pad_sequences(padding="post")</c>), as ONNX's <c>sequence_lens</c> (Σ mask per
    /// sample) can only express that. With any other mask (left padding, Keras's default <c>padding="pre"</c>, or holes)
    /// the graph silently computes something else than the model. False (default) refuses masked recurrent layers.
    /// </summary>
    public bool MasksAreRightPadded { get; set; }
}

/// <summary>
/// Exports a trained model (<see cref="Sequential"/> or functional) to ONNX (https://onnx.ai), written with a built-in protobuf encoder
/// (no dependency), for ONNX Runtime or any other ONNX runtime. The graph takes <c>input</c> (batch, steps, features) —
/// batch and unknown lengths are symbolic — and returns <c>output</c> in float32; a model with several inputs or outputs takes and returns them named after
/// its Input layers and output layers (Keras's input and output names).
/// </summary>
/// <remarks>
/// <para>Each call of the model's graph emits its own nodes (<c>Layer.ExportOnnx</c>, <c>ExportOnnxMany</c> for several
/// inputs or outputs), in graph order; a shared layer's later calls are named <c>layer/call_1</c>... Operators (opset 17): Dense → MatMul + Add (MatMul broadcasts over (batch, time, features));
/// Flatten → Flatten; TimeDistributed → its layer on the last axis (Dense, activations, LayerNormalization) or a
/// Reshape around it; SimpleRNN/LSTM/GRU (and <see cref="RNN"/> over their cells) → RNN/LSTM/GRU with weights
/// transposed to [num_directions, gates·hidden, input], LSTM gates permuted from Keras's i, f, c, o to ONNX's i, o, f, c,
/// GRU bias rows as [Wb, Rb] with <c>linear_before_reset = 1</c> for reset_after, inputs and outputs transposed around
/// the time-major operator; Bidirectional → one such node with direction "bidirectional" (or one node per direction when
/// an explicit backward layer differs in operator, size or bias) followed by the merge (Concat, Add, Mul); Conv1D → Conv on (batch, channels, length) with causal padding as pads [left, 0] and
/// "same" as TensorFlow's split; LayerNormalization → LayerNormalization (axis −1); activations tanh, sigmoid, relu;
/// Add/Multiply → Add/Mul chains, Average → Add chain and Div, Concatenate → Concat, RepeatVector → Unsqueeze + Expand;
/// a recurrent layer's initial states → the operator's initial_h/initial_c, its returned states → Y_h/Y_c.</para>
/// <para>Not exported (a <see cref="NotSupportedException"/> names the layer): custom cells and layers, custom
/// activations. Float64 models are exported with their
/// weights rounded to float32.</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>Exports the model to an ONNX file, atomically.</summary>
    /// <exception cref="NotSupportedException">A layer, cell or activation has no ONNX equivalent (named).</exception>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    public static void Export(Model model, string path, OnnxExportOptions? options = null)
    {
        var bytes = Export(model, options);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>The serialized ONNX ModelProto of the model.</summary>
    /// <exception cref="NotSupportedException">A layer, cell or activation has no ONNX equivalent (named).</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or a mutation (Fit, SetWeights, ...) runs on another thread.</exception>
    public static byte[] Export(Model model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        if (!model.IsBuilt) throw new InvalidOperationException($"{model.Name}: build the model before exporting it.");
        using var read = model.Access.Read("ExportOnnx");
        if (options.Opset < 17) throw new ArgumentOutOfRangeException(nameof(options), options.Opset, "ONNX export needs opset 17 or later (LayerNormalization).");
        if (options.Scaler is not null && options.Standardization is not null)
            throw new ArgumentException("Set Scaler or Standardization, not both (Standardization is the Scaler of standard scaling).", nameof(options));
        if (options.Transform is { Kind: not Rnnx.Data.SeriesTransformKind.None } && options.Scaler is null)
            throw new ArgumentException("Transform needs Scaler (the transform is applied before the window scaling).", nameof(options));
        if (model.Inputs.Count > 1 || model.Outputs.Count > 1) return ExportSeveral(model, options);
        var g = new OnnxGraph { MasksAreRightPadded = options.MasksAreRightPadded };
        string input = g.Reserve(options.InputName);
        string output = options.OutputName;
        var x = input;
        var shape = model.InputShape!;
        OnnxSeriesScaling.Reference? reference = null;
        if (options.Scaler is { } scaler)
        {
            if (shape is not [_, 1]) throw new ArgumentException($"Scaler needs a model of univariate windows (steps, 1); {model.Name} takes ({string.Join(", ", shape.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "steps"))}).", nameof(options));
            (x, var r) = OnnxSeriesScaling.Scale(g, x, scaler, options.Transform ?? Rnnx.Data.SeriesTransform.None, options.Opset);
            reference = r;
        }
        if (options.Standardization is (double mean, double std))
        {
            if (!(std > 0) || !double.IsFinite(mean) || !double.IsFinite(std)) throw new ArgumentException("Standardization needs a finite mean and a positive std.", nameof(options));
            x = g.Op("Sub", "standardize/centered", [x, g.Constant("standardize/mean", [(float)mean])]);
            x = g.Op("Div", "standardize/scaled", [x, g.Constant("standardize/std", [(float)std])]);
        }
        var (xs, shapes) = ExportGraph(g, model, [x], [shape]);
        (x, shape) = (xs[0], shapes[0]);
        if (options.Scaler is { } unscaler)
            x = OnnxSeriesScaling.Unscale(g, x, shape.Length + 1, reference!.Value, unscaler, options.Transform ?? Rnnx.Data.SeriesTransform.None, options.Opset);
        if (options.Standardization is (double m2, double s2))
        {
            x = g.Op("Mul", "unstandardize/scaled", [x, g.Constant("unstandardize/std", [(float)s2])]);
            x = g.Op("Add", "unstandardize/shifted", [x, g.Constant("unstandardize/mean", [(float)m2])]);
        }
        g.Reserve(output);
        g.NodeWithOutputs("Identity", [x], [output]);

        var inDims = new List<object> { "batch" };
        int lookback = options.Scaler?.Lookback ?? 0;
        for (int i = 0; i < model.InputShape!.Length; i++)
            inDims.Add(model.InputShape[i] is int v ? v + (i == 0 ? lookback : 0) : (object)(i == 0 ? (lookback > 0 ? "steps_plus_1" : "steps") : $"input_dim{i + 1}"));
        var outDims = new List<object> { "batch" };
        for (int i = 0; i < shape.Length; i++) outDims.Add(shape[i] is int v ? v : (object)$"output_dim{i + 1}");
        var meta = new Dictionary<string, string> { ["rnnx.model"] = model.Name };
        if (options.Standardization is (double m3, double s3))
        {
            meta["rnnx.standardization.mean"] = m3.ToString("R", CultureInfo.InvariantCulture);
            meta["rnnx.standardization.std"] = s3.ToString("R", CultureInfo.InvariantCulture);
        }
        if (options.Scaler is { } saved)
        {
            meta["rnnx.scaling"] = Rnnx.Data.SeriesScaler.NameOf(saved.Method);
            meta["rnnx.scaling.center"] = saved.Center.ToString("R", CultureInfo.InvariantCulture);
            meta["rnnx.scaling.scale"] = saved.Scale.ToString("R", CultureInfo.InvariantCulture);
            meta["rnnx.scaling.lookback"] = saved.Lookback.ToString(CultureInfo.InvariantCulture);
            var tr = options.Transform ?? Rnnx.Data.SeriesTransform.None;
            meta["rnnx.transform"] = tr.Name;
            if (tr.Kind == Rnnx.Data.SeriesTransformKind.BoxCox) meta["rnnx.transform.lambda"] = tr.Lambda.ToString("R", CultureInfo.InvariantCulture);
        }
        return g.ToModel(model.Name, [(input, inDims)], [(output, outDims)], options.Opset, DocString(model), meta);
    }

    private static string DocString(Model model) =>
        $"Exported by Rnnx from the {(model.IsFunctional ? "functional" : "Sequential")} model '{model.Name}' ({model.Layers.Count} layers, {model.CountParams()} parameters).";

    /// <summary>
    /// A model with several inputs or outputs: graph inputs named after its Input layers and outputs after the layers
    /// that give them (Keras's <c>input_names</c>/<c>output_names</c>, an index appended when one layer gives several).
    /// The series scaling options apply to one-input, one-output forecasters only.
    /// </summary>
    private static byte[] ExportSeveral(Model model, OnnxExportOptions options)
    {
        if (options.Scaler is not null || options.Standardization is not null)
            throw new ArgumentException($"ONNX export: model '{model.Name}' has {model.Inputs.Count} inputs and {model.Outputs.Count} outputs; Scaler and Standardization apply to models with one input and one output.", nameof(options));
        var g = new OnnxGraph { MasksAreRightPadded = options.MasksAreRightPadded };
        var inputs = model.Inputs.Select(t => g.Reserve(t.Layer.Name)).ToArray();
        var inputShapes = model.Inputs.Select(t => t.ShapeArray).ToArray();
        var (outs, outShapes) = ExportGraph(g, model, inputs, inputShapes);
        var outputNames = model.Outputs.Select(t => t.Layer.Name).ToArray();
        var graphOutputs = new List<(string Name, IReadOnlyList<object> Dims)>();
        for (int o = 0; o < outs.Length; o++)
        {
            string name = outputNames.Count(n => n == outputNames[o]) > 1 ? $"{outputNames[o]}_{model.Outputs[o].TensorIndex}" : outputNames[o];
            g.NodeWithOutputs("Identity", [outs[o]], [g.Reserve(name)]);
            graphOutputs.Add((name, Dims(name, outShapes[o])));
        }
        var graphInputs = inputs.Select((name, i) => (name, (IReadOnlyList<object>)Dims(name, inputShapes[i]))).ToList();
        return g.ToModel(model.Name, graphInputs, graphOutputs, options.Opset, DocString(model),
            new Dictionary<string, string> { ["rnnx.model"] = model.Name });
    }

    /// <summary>ONNX dims of a (batch, ...) tensor: symbolic batch and unknown sizes named after the tensor.</summary>
    private static List<object> Dims(string name, int?[] shape)
    {
        var dims = new List<object> { "batch" };
        for (int i = 0; i < shape.Length; i++) dims.Add(shape[i] is int v ? v : (object)$"{name}_dim{i + 1}");
        return dims;
    }

    /// <summary>
    /// Emits every call of the model's graph in its order and returns the ONNX names and shapes (without batch) of its
    /// outputs. A layer called more than once (shared weights) gets one set of nodes per call, named by the call index.
    /// </summary>
    private static (string[] Outputs, int?[][] Shapes) ExportGraph(OnnxGraph g, Model model, string[] inputs, int?[][] inputShapes)
    {
        var graph = model.Graph;
        var names = new string[graph.SlotCount];
        var shapes = graph.SlotShapes(inputShapes);
        var masks = new string?[graph.SlotCount];   // the (batch, time) masks of Masking / Embedding(maskZero), carried as when running
        inputs.CopyTo(names, 0);
        var calls = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Nodes)
        {
            int call = calls[node.Layer] = calls.GetValueOrDefault(node.Layer, -1) + 1;
            string path = call == 0 ? node.Layer.Name : $"{node.Layer.Name}/call_{call}";
            if (node.InputSlots is [int slot] && node.OutputCount == 1)
            {
                names[node.FirstOutputSlot] = node.Layer.ExportOnnx(g, names[slot], shapes[slot], path, masks[slot]);
                masks[node.FirstOutputSlot] = node.Layer.ExportOnnxMask(g, names[slot], path, masks[slot]);
                continue;
            }
            if (node.InputSlots.Any(s => masks[s] is not null))
                throw new NotSupportedException($"ONNX export: a mask reaches layer '{path}', called on {node.InputSlots.Length} inputs; the exporter carries masks through single-input calls only (the model runs such masks in Rnnx).");
            var outs = node.Layer.ExportOnnxMany(g, node.InputSlots.Select(s => names[s]).ToArray(), node.InputSlots.Select(s => shapes[s]).ToArray(), path);
            for (int i = 0; i < node.OutputCount; i++) names[node.FirstOutputSlot + i] = outs[i];
        }
        return (graph.OutputSlots.Select(o => names[o]).ToArray(), graph.OutputSlots.Select(o => shapes[o]).ToArray());
    }
}
