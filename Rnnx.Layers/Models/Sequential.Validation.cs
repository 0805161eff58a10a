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

public sealed partial class Sequential
{
    private Tensor CheckInputs(Tensor x, string what, bool checkFinite = true)
    {
        if (!x.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.");
        if (x.Rank < 2) throw new ShapeMismatchException($"{Name}: {what} must be (samples, ...), got {x.Shape}.");
        if (!IsBuilt)
        {
            var declared = _layers.Count > 0 ? _layers[0].DeclaredInputShape : null;
            Build(declared ?? DataShape(x), DType);
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

    private Tensor AlignTargets(Tensor x, Tensor y, string what)
    {
        if (!y.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.");
        if (y.Rank < 1) throw new ShapeMismatchException($"{Name}: {what} must be (samples, ...), got {y.Shape}.");
        if (y.Shape[0] != x.Shape[0])
            throw new ShapeMismatchException($"{Name}: {x.Shape[0]} input samples but {y.Shape[0]} samples in the {what} ({x.Shape} vs {y.Shape}).");
        // Concrete output shape for this input.
        var shape = DataShape(x);
        foreach (var l in _layers) shape = l.ComputeOutputShape(shape);
        int outSize = 1;
        foreach (var d in shape) outSize *= d ?? 1;
        var outShape = new Shape([x.Shape[0], .. shape.Select(d => d ?? 1)]);
        CheckFinite(y, what);
        var yy = y.DType == DType ? y : y.Copy(DType);
        if (yy.Shape == outShape) return yy;
        if (yy.Size == outShape.Size && (yy.Rank == outShape.Rank + 1 && yy.Shape.Last == 1 || yy.Rank + 1 == outShape.Rank && outShape.Last == 1))
            return Tensor.Reshape(yy, outShape);   // Keras squeezes/expands a trailing size-1 axis
        throw new ShapeMismatchException($"{Name}: {what} have shape {y.Shape} but the model outputs (samples, {string.Join(", ", shape)}) for inputs {x.Shape}.");
    }
}
