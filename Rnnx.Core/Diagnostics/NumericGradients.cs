using System.Globalization;
using System.Text;
using Rnnx.Random;

namespace Rnnx.Diagnostics;

/// <summary>
/// The numeric engine of gradient checking: central finite differences against the tape's gradients, on Float64 leaf
/// tensors perturbed in place and restored bit-exactly. It lives in Core because it writes into tensors' buffers; the
/// layer, cell and model conveniences are <c>Rnnx.Diagnostics.GradientChecker</c> in Rnnx.Layers.
/// </summary>
public static class NumericGradients
{
    /// <summary>
    /// Compares the tape's gradients of L = Σ f() ⊙ R with central finite differences for every element of the Float64
    /// leaves <paramref name="wrt"/> (named <paramref name="names"/> in the report), without throwing on a mismatch.
    /// The method, step and tolerances are those documented on Rnnx.Layers' <c>GradientChecker</c>, which calls this.
    /// </summary>
    /// <exception cref="ArgumentException">A leaf is not Float64, was created on a tape, or is repeated; the output is not Float64.</exception>
    /// <exception cref="InvalidOperationException">The function is not deterministic or its output shape changes.</exception>
    public static GradientCheckResult Compare(Func<Tensor> f, GradientCheckOptions options, IReadOnlyList<string> names, IReadOnlyList<Tensor> wrt)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(options);
        if (wrt.Count == 0) throw new ArgumentException("GradientChecker: nothing to check; pass at least one leaf tensor.", nameof(wrt));
        var leaves = new TensorData[wrt.Count];
        for (int i = 0; i < wrt.Count; i++)
        {
            var d = wrt[i].Data;
            if (d.DType != DType.Float64)
                throw new ArgumentException($"GradientChecker: {names[i]} {d.Shape} is {d.DType}; gradient checks need Float64 (use Tensor.Copy(DType.Float64) or build in Float64).", nameof(wrt));
            if (d.Owner is not null)
                throw new ArgumentException($"GradientChecker: {names[i]} {d.Shape} was created on a tape; pass leaf tensors created outside any tape.", nameof(wrt));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(leaves[j], d))
                    throw new ArgumentException($"GradientChecker: {names[j]} and {names[i]} are the same tensor.", nameof(wrt));
            leaves[i] = d;
        }

        var saved = new double[leaves.Length][];
        var hadGrad = new bool[leaves.Length];
        for (int i = 0; i < leaves.Length; i++)
        {
            saved[i] = leaves[i].Span<double>().ToArray();
            hadGrad[i] = leaves[i].RequiresGrad;
            leaves[i].RequiresGrad = true;
        }
        using var tape = new Tape();
        try
        {
            return Run(f, options, names, wrt, leaves, tape);
        }
        finally
        {
            for (int i = 0; i < leaves.Length; i++)
            {
                saved[i].CopyTo(leaves[i].Span<double>());
                leaves[i].RequiresGrad = hadGrad[i];
            }
        }
    }
    private static GradientCheckResult Run(Func<Tensor> f, GradientCheckOptions options, IReadOnlyList<string> names, IReadOnlyList<Tensor> wrt, TensorData[] leaves, Tape tape)
    {
        // Analytic pass: one recorded forward, Backward seeded with R = dL/dout.
        Shape outShape;
        double[] r, baseOut;
        var analytic = new double[leaves.Length][];
        using (tape.Activate())
        {
            var o = f();
            var od = o.Data;
            if (od.DType != DType.Float64)
                throw new ArgumentException($"GradientChecker: the function returned {od.DType} {od.Shape}; it must compute in Float64.");
            outShape = od.Shape;
            baseOut = od.Span<double>().ToArray();
            r = new double[outShape.Size];
            new NumPyRandomState(options.Seed).Rand(r);
            for (int j = 0; j < r.Length; j++) r[j] = 2 * r[j] - 1;
            if (o.RequiresGrad)
            {
                var g = tape.Backward(o, Tensor.FromSpan<double>(r, outShape));
                for (int i = 0; i < wrt.Count; i++) analytic[i] = g[wrt[i]].ToDoubleArray();
            }
            else
            {
                // The output depends on no checked leaf: every analytic derivative is zero.
                for (int i = 0; i < wrt.Count; i++) analytic[i] = new double[leaves[i].Length];
            }
        }
        tape.Reset();

        var plus = new double[outShape.Size];
        var minus = new double[outShape.Size];
        Evaluate(f, tape, options, outShape, plus);
        if (!plus.AsSpan().SequenceEqual(baseOut))
            throw new InvalidOperationException("GradientChecker: the function is not deterministic; two evaluations at the same point differ.");

        var entries = new List<GradientCheckEntry>();
        int mismatchCount = 0;
        int elements = 0;
        double maxAbs = 0, maxScaled = 0;
        for (int i = 0; i < leaves.Length; i++)
        {
            var x = leaves[i].Span<double>();
            for (int k = 0; k < x.Length; k++)
            {
                double x0 = x[k];
                double h = options.Step * Math.Max(1.0, Math.Abs(x0));
                double xp = x0 + h, xm = x0 - h;
                x[k] = xp;
                Evaluate(f, tape, options, outShape, plus);
                x[k] = xm;
                Evaluate(f, tape, options, outShape, minus);
                x[k] = x0;
                double diff = 0;
                for (int j = 0; j < r.Length; j++) diff += (plus[j] - minus[j]) * r[j];
                double n = diff / (xp - xm);
                double a = analytic[i][k];
                double err = Math.Abs(a - n);
                double scaled = err / (options.Atol + options.Rtol * Math.Max(Math.Abs(a), Math.Abs(n)));
                if (double.IsNaN(scaled)) scaled = double.PositiveInfinity;
                elements++;
                maxAbs = Math.Max(maxAbs, err);
                maxScaled = Math.Max(maxScaled, scaled);
                if (scaled > 1) mismatchCount++;
                entries.Add(new GradientCheckEntry(names[i], Unravel(k, leaves[i].Shape), a, n, scaled));
            }
        }
        var worst = entries.OrderByDescending(e => e.ScaledError).Take(options.MaxReported).ToList();
        string? message = null;
        if (mismatchCount > 0)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture,
                $"GradientChecker: {mismatchCount} of {elements} derivatives differ from central differences (|a - n| > {options.Atol:G} + {options.Rtol:G} max(|a|, |n|)); output {outShape}. Worst:\n");
            foreach (var e in worst.Where(e => e.ScaledError > 1)) sb.Append("  ").AppendLine(e.ToString());
            message = sb.ToString();
        }
        return new GradientCheckResult(elements, mismatchCount, maxAbs, maxScaled, worst, message);
    }

    /// <summary>
    /// Runs f on the tape, copies the output into <paramref name="result"/> and resets the tape. It records, exactly as the
    /// analytic pass does, so a function that behaves differently when recording (training mode) is compared like for like.
    /// </summary>
    private static void Evaluate(Func<Tensor> f, Tape tape, GradientCheckOptions options, Shape outShape, double[] result)
    {
        if (!options.RecordNumeric)
        {
            Copy(f(), outShape, result);
            return;
        }
        using (tape.Activate()) Copy(f(), outShape, result);
        tape.Reset();
    }

    private static void Copy(Tensor o, Shape outShape, double[] result)
    {
        if (o.Shape != outShape)
            throw new InvalidOperationException($"GradientChecker: the output shape changed between evaluations, {outShape} then {o.Shape}.");
        o.AsSpan<double>().CopyTo(result);
    }

    private static int[] Unravel(int flat, Shape shape)
    {
        var idx = new int[shape.Rank];
        for (int d = shape.Rank - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}
