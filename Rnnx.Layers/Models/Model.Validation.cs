using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Optimization;
using Rnnx.Random;

namespace Rnnx.Models;

public partial class Model
{
    private Tensor CheckInputs(Tensor x, string what, bool checkFinite = true)
    {
        if (!x.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.");
        RequireOneInputAndOutput();
        if (x.Rank < 2) throw new ShapeMismatchException($"{Name}: {what} must be (samples, ...), got {x.Shape}.");
        if (!IsBuilt)
        {
            var declared = _layers.Count > 0 ? _layers[0].DeclaredInputShape : null;
            Build(declared ?? Layer.WithoutBatch(x.Shape), DType);
        }
        var expected = InputShape!;
        bool ok = expected.Length == x.Rank - 1;
        for (int i = 0; ok && i < expected.Length; i++) ok = expected[i] is null || expected[i] == x.Shape[i + 1];
        if (!ok) throw new ShapeMismatchException($"{Name}: expects {what} of shape (samples, {string.Join(", ", expected.Select(d => d?.ToString() ?? "None"))}), got {x.Shape}.");
        if (checkFinite) CheckFinite(x, what);
        return x.DType == DType ? x : x.Copy(DType);
    }

    private void CheckFinite(Tensor t, string what)
    {
        // Fast path: one vectorized pass; the scan below only runs to name the first bad value.
        if (t.AllFinite())
            return;
        int bad = -1;
        if (t.DType == DType.Float32)
        {
            var s = t.AsSpan<float>();
            for (int i = 0; i < s.Length; i++) if (!float.IsFinite(s[i])) { bad = i; break; }
        }
        else
        {
            var s = t.AsSpan<double>();
            for (int i = 0; i < s.Length; i++) if (!double.IsFinite(s[i])) { bad = i; break; }
        }
        if (bad >= 0)
        {
            int row = bad / (t.Size / t.Shape[0]);
            throw new ArgumentException($"{Name}: {what} contains {t.GetValue(bad)} at sample {row} (flat index {bad}); data must be finite.");
        }
    }

    /// <summary>
    /// The per-sample loss weights for Fit: the given sample weights checked against the targets, or class weights
    /// mapped through the targets' classes (keras/src/trainers/data_adapters/data_adapter_utils.py,
    /// class_weight_to_sample_weights), or an invalid tensor for neither.
    /// </summary>
    private Tensor SampleWeights(Tensor x, Tensor y, Tensor? sampleWeight, IReadOnlyDictionary<int, double>? classWeight)
    {
        if (sampleWeight is not null && classWeight is not null)
            throw new ArgumentException($"{Name}: pass either sampleWeight or classWeight, not both (as Keras).");
        if (sampleWeight is { } sw) return CheckSampleWeight(x.Shape[0], y, sw, "sampleWeight");
        return classWeight is null ? default : ClassSampleWeights(y, classWeight);
    }

    /// <summary>
    /// The per-output sample weights of a Fit on lists: one given tensor per output (null: unweighted), or one tensor
    /// repeated for every output (keras/src/trainers/compile_utils.py, CompileLoss.call: "For multi-outputs, repeat
    /// sample weights for n outputs"); class weights only with a single output (Keras 3
    /// keras/src/trainers/data_adapters/tf_dataset_adapter.py). Empty for neither.
    /// </summary>
    private Tensor[] OutputSampleWeights(Tensor x, Tensor[] ys, IReadOnlyList<Tensor?>? sampleWeight, IReadOnlyDictionary<int, double>? classWeight)
    {
        if (sampleWeight is not null && classWeight is not null)
            throw new ArgumentException($"{Name}: pass either sampleWeight or classWeight, not both (as Keras).");
        if (classWeight is not null)
        {
            if (ys.Length != 1)
                throw new ArgumentException($"{Name}: classWeight is only supported for models with a single output (as Keras 3); this model gives {ys.Length} " +
                    $"({string.Join(", ", Enumerable.Range(0, ys.Length).Select(OutputName))}). Turn the class weights into a sampleWeight per output instead.", nameof(classWeight));
            return [ClassSampleWeights(ys[0], classWeight)];
        }
        if (sampleWeight is null) return [];
        if (sampleWeight.Count != 1 && sampleWeight.Count != ys.Length)
            throw new ArgumentException($"{Name}: the model gives {ys.Length} output(s) ({string.Join(", ", Enumerable.Range(0, ys.Length).Select(OutputName))}); " +
                $"pass one sampleWeight for each (null for none) or one for all, got {sampleWeight.Count}.", nameof(sampleWeight));
        var weights = new Tensor[ys.Length];
        for (int o = 0; o < ys.Length; o++)
            if (sampleWeight[sampleWeight.Count == 1 ? 0 : o] is { } given)
                weights[o] = CheckSampleWeight(x.Shape[0], ys[o], given, ys.Length == 1 ? "sampleWeight" : $"sampleWeight for output '{OutputName(o)}'");
        return weights;
    }

    /// <summary>Checks sample weights against targets <paramref name="y"/> of <paramref name="samples"/> samples and returns them in the model's dtype.</summary>
    private Tensor CheckSampleWeight(int samples, Tensor y, Tensor sw, string what)
    {
        if (!sw.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.");
        bool leading = sw.Rank >= 1 && sw.Rank <= y.Rank;
        for (int i = 0; leading && i < sw.Rank; i++) leading = sw.Shape[i] == y.Shape[i];
        if (!leading || sw.Shape[0] != samples)
            throw new ShapeMismatchException($"{Name}: {what} {sw.Shape} must be (samples,) or (samples, steps...) matching the targets {y.Shape}.");
        CheckFinite(sw, what);
        return sw.DType == DType ? sw : sw.Copy(DType);
    }

    /// <summary>Class weights mapped through the targets' classes into per-sample weights (see <see cref="SampleWeights"/>).</summary>
    private Tensor ClassSampleWeights(Tensor y, IReadOnlyDictionary<int, double> classWeight)
    {
        if (y.Rank > 2)
            throw new ArgumentException($"{Name}: classWeight needs targets of rank at most 2 (samples, classes), got {y.Shape}; use sampleWeight for sequence targets.");
        foreach (var (cls, wv) in classWeight)
            if (!double.IsFinite(wv)) throw new ArgumentException($"{Name}: classWeight[{cls}] is {wv}; weights must be finite.");
        int n = y.Shape[0], width = y.Rank == 2 ? y.Shape[1] : 1;
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            int cls;
            if (width > 1)
            {
                cls = 0;
                for (int j = 1; j < width; j++) if (y.GetValue(i * width + j) > y.GetValue(i * width + cls)) cls = j;
            }
            else cls = (int)Math.Round(y.GetValue(i), MidpointRounding.ToEven);
            w[i] = classWeight.TryGetValue(cls, out var cw) ? cw : 1.0;
        }
        var t = Tensor.FromArray(w, n);
        return DType == DType.Float64 ? t : t.Copy(DType);
    }

    private void CheckClassIndices(Tensor y, int classes, Loss loss, string what)
    {
        for (int i = 0; i < y.Size; i++)
        {
            double v = y.GetValue(i);
            if (v != Math.Floor(v) || v < 0 || v >= classes)
                throw new ArgumentException($"{Name}: {what} hold class index {v} at sample {i / Math.Max(1, y.Size / y.Shape[0])} (flat index {i}); {loss.Name} needs integers in [0, {classes}) for {classes} output classes.");
        }
    }

    private Tensor AlignTargets(Tensor x, Tensor y, string what) =>
        AlignTarget(x.Shape[0], OutputShapeFor(Layer.WithoutBatch(x.Shape)), Loss, y, what, x.Shape.ToString());

    /// <summary>Checks targets against an output of <paramref name="shape"/> (without batch) for <paramref name="samples"/> input samples.</summary>
    private Tensor AlignTarget(int samples, int?[] shape, Loss? loss, Tensor y, string what, string inputsText)
    {
        if (!y.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.");
        if (y.Rank < 1) throw new ShapeMismatchException($"{Name}: {what} must be (samples, ...), got {y.Shape}.");
        if (y.Shape[0] != samples)
            throw new ShapeMismatchException($"{Name}: {samples} input samples but {y.Shape[0]} samples in the {what} ({inputsText} vs {y.Shape}).");
        var outShape = new Shape([samples, .. shape.Select(d => d ?? 1)]);
        CheckFinite(y, what);
        var yy = y.DType == DType ? y : y.Copy(DType);
        if (loss is { TakesClassIndices: true } classLoss)
        {
            // Class-index targets: the output's shape without the class axis, or with a trailing 1 (dropped).
            var expected = outShape.Remove(-1);
            if (yy.Shape != expected && yy.Rank == outShape.Rank && yy.Shape.Last == 1 && yy.Shape.Remove(-1) == expected) yy = Tensor.Reshape(yy, expected);
            if (yy.Shape == expected)
            {
                CheckClassIndices(yy, outShape.Last, classLoss, what);
                return yy;
            }
            throw new ShapeMismatchException($"{Name}: {what} have shape {y.Shape} but {classLoss.Name} needs class indices of shape {expected} (or with a trailing 1) for outputs {outShape}.");
        }
        if (yy.Shape == outShape) return yy;
        if (yy.Size == outShape.Size && (yy.Rank == outShape.Rank + 1 && yy.Shape.Last == 1 || yy.Rank + 1 == outShape.Rank && outShape.Last == 1))
            return Tensor.Reshape(yy, outShape);   // Keras squeezes/expands a trailing size-1 axis
        throw new ShapeMismatchException($"{Name}: {what} have shape {y.Shape} but the model outputs (samples, {string.Join(", ", shape)}) for inputs {inputsText}.");
    }

    /// <summary>
    /// The output shape (without batch) for inputs of <paramref name="inputShape"/> (without batch) on a one-input,
    /// one-output model: the graph's shapes with that input.
    /// </summary>
    private int?[] OutputShapeFor(int?[] inputShape) => Graph.SlotShapes([inputShape])[Graph.OutputSlots[0]];

    /// <summary>The single-tensor entry points (Fit, Evaluate, Predict, TrainOnBatch, Call) need one input and one output.</summary>
    private void RequireOneInputAndOutput()
    {
        if (_functional is { } f && (f.Inputs.Count != 1 || f.Outputs.Count != 1))
            throw new ArgumentException(
                $"{Name}: the model takes {f.Inputs.Count} input(s) ({string.Join(", ", f.Inputs.Select(t => t.Layer.Name))}) and gives {f.Outputs.Count} output(s); pass lists (one tensor per input, one target per output) to Fit, Evaluate, TrainOnBatch or Predict, or use CallMany.");
    }
}
