using System.Globalization;
using System.Text;
using Rnnx.Random;

namespace Rnnx.Tests.TestUtilities;

/// <summary>Step and tolerances of a <see cref="GradientChecker"/> run. The defaults are explained on <see cref="GradientChecker"/>.</summary>
public sealed record GradientCheckOptions
{
    /// <summary>The default options (rtol 1e-6, atol 1e-8, h = 1e-6 * max(1, |x|), seed 20240611).</summary>
    public static GradientCheckOptions Default { get; } = new();

    /// <summary>Relative tolerance: |a - n| &lt;= Atol + Rtol * max(|a|, |n|).</summary>
    public double Rtol { get; init; } = 1e-6;

    /// <summary>Absolute tolerance, for gradient entries that are zero or tiny.</summary>
    public double Atol { get; init; } = 1e-8;

    /// <summary>Relative step: each element x is perturbed by h = Step * max(1, |x|).</summary>
    public double Step { get; init; } = 1e-6;

    /// <summary>Seed of the random projection R in L = sum(out * R).</summary>
    public uint Seed { get; init; } = 20240611;

    /// <summary>How many of the worst mismatches a failure message lists.</summary>
    public int MaxReported { get; init; } = 10;
}

/// <summary>Outcome of a check.</summary>
/// <param name="Elements">Number of input elements whose derivative was compared.</param>
/// <param name="Mismatches">Number of elements outside the tolerance (0 when the check passed).</param>
/// <param name="MaxAbsError">Largest |analytic - numeric|.</param>
/// <param name="MaxScaledError">Largest |a - n| / (atol + rtol max(|a|, |n|)); the check passes when this is at most 1.</param>
/// <param name="Message">A description of the worst mismatches, or null when the check passed.</param>
public sealed record GradientCheckResult(int Elements, int Mismatches, double MaxAbsError, double MaxScaledError, string? Message)
{
    /// <summary>True when every derivative was within tolerance.</summary>
    public bool Passed => Mismatches == 0;
}

/// <summary>
/// A reusable float64 gradient checker: compares the gradients the tape computes with central differences.
/// </summary>
/// <remarks>
/// <para><b>Objective.</b> The function may return a tensor of any shape. The checker forms the scalar
/// L = Σ out ⊙ R with a fixed random R (uniform in [-1, 1), seeded) so that every output element is covered with a
/// different weight — a plain Σ out would give every output the same weight and hide mix-ups such as a transposed or
/// shifted gradient. The analytic gradient ∂L/∂input is obtained with one <see cref="Tape.Backward"/> seeded with R
/// (the seed is exactly ∂L/∂out, so this is the gradient of L; seeding rather than recording Multiply and Sum keeps the
/// op under test isolated). The numeric side evaluates L directly.</para>
/// <para><b>Central differences.</b> For every element x of every checked leaf:
/// n = [L(x + h) - L(x - h)] / (x₊ - x₋). The step is relative-ish, h = 1e-6 · max(1, |x|): large values get a step
/// that is still representable relative to them, small values keep an absolute step. The denominator is the
/// difference of the two perturbed values actually stored, x₊ - x₋ (exact by Sterbenz's lemma for |x| &gt;= 3h, at most
/// one rounding otherwise), not 2h: rounding x ± h to doubles shifts the step by up to ~1e-10 relative, and using the
/// realized step removes that bias from the quotient. The truncation error is h²/6 · |L'''| ≈ 1.7e-13 |L'''| and the rounding error
/// is about ε · |terms| / h ≈ 1e-10 · |terms| (ε = 2.2e-16). The rounding term is reduced further by evaluating
/// L(x+h) - L(x-h) as Σ (out₊ - out₋) ⊙ R element by element: output elements the perturbation does not reach are
/// bit-identical in both evaluations and contribute exactly zero, instead of the O(ε · |L| / h) noise of subtracting
/// two large sums. h = 1e-6 is a little below the optimum ε^(1/3) ≈ 6e-6 for central differences, trading a bit of
/// rounding error (still ~1e-10) for a smaller truncation error on strongly curved functions (exp, 1/x, log near 0.5).</para>
/// <para><b>Tolerance.</b> An element passes when |a - n| &lt;= atol + rtol · max(|a|, |n|) with rtol = 1e-6 and
/// atol = 1e-8. The numeric estimate is good to roughly 1e-10 relative (see above) and the analytic one to ~1e-15,
/// so rtol = 1e-6 leaves about four orders of magnitude of head-room against numerical noise, while any real backward
/// bug (a wrong factor, a missing or extra term, a wrong index or a missing broadcast sum) shows up as an O(1) relative
/// error — it would have to be smaller than one part in a million to slip through. atol = 1e-8 covers entries whose
/// true derivative is zero or tiny (unused elements, cancellations), where a relative test is meaningless and the
/// numeric estimate carries absolute noise of ~1e-10.</para>
/// <para><b>Inputs.</b> Only float64 leaf tensors (created outside any tape) can be checked. Perturbations are
/// written into the leaves' buffers in place and restored bit-exactly afterwards, so the leaves can be the
/// <see cref="Parameter.Value"/> tensors of a layer while the function is a closure that runs the layer. Leaves that do not
/// require a gradient (frozen parameters, data) are marked for the duration of the check and unmarked afterwards.
/// Choose input values away from kinks (relu/abs at 0, MAE at equal targets, Huber at |d| = delta) by more than the step,
/// e.g. with <see cref="RandomTensors"/>.</para>
/// <para>Every evaluation runs on a private, active and recording tape (the same mode for the analytic and the numeric
/// evaluations) that is reset after it. The function is evaluated twice at the base point and must return bit-identical
/// results (it must be deterministic and free of hidden state between calls).</para>
/// </remarks>
public static class GradientChecker
{
    /// <summary>
    /// Checks the gradients of <paramref name="f"/> with respect to <paramref name="wrt"/> (leaf float64 tensors,
    /// e.g. <see cref="Parameter.Value"/>s that <paramref name="f"/> closes over). Fails the test on a mismatch.
    /// </summary>
    public static GradientCheckResult Check(Func<Tensor> f, params Tensor[] wrt) => Check(f, GradientCheckOptions.Default, wrt);

    /// <summary>Checks the gradients of <paramref name="f"/> with respect to <paramref name="parameters"/> (float64).</summary>
    public static GradientCheckResult Check(Func<Tensor> f, IEnumerable<Parameter> parameters, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return Check(f, options ?? GradientCheckOptions.Default, parameters.Select(p => p.Value).ToArray());
    }

    /// <summary>
    /// Checks the gradients of <paramref name="f"/> applied to <paramref name="inputs"/> (leaf float64 tensors) with
    /// respect to every input. Fails the test on a mismatch.
    /// </summary>
    public static GradientCheckResult Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, GradientCheckOptions.Default, inputs);

    /// <summary>As <see cref="Check(Func{Tensor[], Tensor}, Tensor[])"/> with explicit options.</summary>
    public static GradientCheckResult Check(Func<Tensor[], Tensor> f, GradientCheckOptions options, params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        return Check(() => f(inputs), options, inputs);
    }

    /// <summary>As <see cref="Check(Func{Tensor}, Tensor[])"/> with explicit options.</summary>
    public static GradientCheckResult Check(Func<Tensor> f, GradientCheckOptions options, params Tensor[] wrt)
    {
        var result = Compare(f, options, wrt);
        if (!result.Passed) Assert.Fail(result.Message!);
        return result;
    }

    /// <summary>
    /// The comparison behind <see cref="Check(Func{Tensor}, GradientCheckOptions, Tensor[])"/>, without failing the test:
    /// returns the result, whose <see cref="GradientCheckResult.Message"/> lists the worst mismatches.
    /// </summary>
    /// <exception cref="ArgumentException">A leaf is not Float64, was created on a tape, or is repeated; the output is not Float64.</exception>
    /// <exception cref="InvalidOperationException">The function is not deterministic or its output shape changes.</exception>
    public static GradientCheckResult Compare(Func<Tensor> f, GradientCheckOptions options, params Tensor[] wrt)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(wrt);
        if (wrt.Length == 0) throw new ArgumentException("GradientChecker: nothing to check; pass at least one leaf tensor.", nameof(wrt));
        var leaves = new TensorData[wrt.Length];
        for (int i = 0; i < wrt.Length; i++)
        {
            var d = wrt[i].Data;
            if (d.DType != DType.Float64)
                throw new ArgumentException($"GradientChecker: input {i} {d.Shape} is {d.DType}; gradient checks need Float64 (use Tensor.Copy(DType.Float64) or Parameter.Reset).", nameof(wrt));
            if (d.Owner is not null)
                throw new ArgumentException($"GradientChecker: input {i} {d.Shape} was created on a tape; pass leaf tensors created outside any tape.", nameof(wrt));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(leaves[j], d))
                    throw new ArgumentException($"GradientChecker: inputs {j} and {i} are the same tensor.", nameof(wrt));
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
            return Run(f, options, wrt, leaves, tape);
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

    private static GradientCheckResult Run(Func<Tensor> f, GradientCheckOptions options, Tensor[] wrt, TensorData[] leaves, Tape tape)
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
                for (int i = 0; i < wrt.Length; i++) analytic[i] = g[wrt[i]].ToDoubleArray();
            }
            else
            {
                // The output depends on no checked leaf: every analytic derivative is zero.
                for (int i = 0; i < wrt.Length; i++) analytic[i] = new double[leaves[i].Length];
            }
        }
        tape.Reset();

        var plus = new double[outShape.Size];
        var minus = new double[outShape.Size];
        Evaluate(f, tape, outShape, plus);
        if (!plus.AsSpan().SequenceEqual(baseOut))
            throw new InvalidOperationException("GradientChecker: the function is not deterministic; two evaluations at the same point differ.");

        var mismatches = new List<(double Scaled, string Text)>();
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
                Evaluate(f, tape, outShape, plus);
                x[k] = xm;
                Evaluate(f, tape, outShape, minus);
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
                if (scaled > 1)
                    mismatches.Add((scaled, string.Create(CultureInfo.InvariantCulture,
                        $"  input {i} {leaves[i].Shape} [{FormatIndex(k, leaves[i].Shape)}]: analytic {a:R}, numeric {n:R}, |diff| {err:G3}")));
            }
        }
        string? message = null;
        if (mismatches.Count > 0)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture,
                $"GradientChecker: {mismatches.Count} of {elements} derivatives differ from central differences (|a - n| > {options.Atol:G} + {options.Rtol:G} max(|a|, |n|)); output {outShape}. Worst:\n");
            foreach (var m in mismatches.OrderByDescending(m => m.Scaled).Take(options.MaxReported)) sb.AppendLine(m.Text);
            message = sb.ToString();
        }
        return new GradientCheckResult(elements, mismatches.Count, maxAbs, maxScaled, message);
    }

    /// <summary>
    /// Runs f on the tape, copies the output into <paramref name="result"/> and resets the tape. It records, exactly as the
    /// analytic pass does, so a function that behaves differently when recording (training mode) is compared like for like.
    /// </summary>
    private static void Evaluate(Func<Tensor> f, Tape tape, Shape outShape, double[] result)
    {
        using (tape.Activate())
        {
            var o = f();
            if (o.Shape != outShape)
                throw new InvalidOperationException($"GradientChecker: the output shape changed between evaluations, {outShape} then {o.Shape}.");
            o.AsSpan<double>().CopyTo(result);
        }
        tape.Reset();
    }

    private static string FormatIndex(int flat, Shape shape)
    {
        if (shape.Rank == 0) return "";
        var idx = new int[shape.Rank];
        for (int d = shape.Rank - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return string.Join(", ", idx);
    }
}

/// <summary>
/// Seeded float64 test tensors (heap leaves, outside any tape) whose values stay away from the points where the ops
/// are not differentiable, by far more than the checker's step.
/// </summary>
public sealed class RandomTensors
{
    private readonly NumPyRandomState _rng;

    /// <summary>A generator with the given seed (numpy's legacy RandomState, so sequences are reproducible).</summary>
    public RandomTensors(uint seed) => _rng = new NumPyRandomState(seed);

    /// <summary>
    /// The default distance kept from kinks (relu/abs at 0, MAE at 0, Huber at |d| = delta): 0.1, twice the 0.05 the
    /// tests require and 1e5 times the checker's step, so no central difference straddles a kink.
    /// </summary>
    public const double KinkMargin = 0.1;

    /// <summary>Uniform values in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public Tensor Uniform(Shape shape, double low = -1, double high = 1)
    {
        var v = new double[shape.Size];
        for (int i = 0; i < v.Length; i++) v[i] = low + (high - low) * _rng.NextDouble();
        return Tensor.FromSpan<double>(v, shape);
    }

    /// <summary>Uniform values in [-1, 1) with the given dimensions.</summary>
    public Tensor Uniform(params int[] dims) => Uniform(new Shape(dims));

    /// <summary>Standard normal values times <paramref name="scale"/>.</summary>
    public Tensor Normal(Shape shape, double scale = 1)
    {
        var v = new double[shape.Size];
        for (int i = 0; i < v.Length; i++) v[i] = scale * _rng.StandardNormal();
        return Tensor.FromSpan<double>(v, shape);
    }

    /// <summary>Values of random sign with magnitude in [<paramref name="min"/>, <paramref name="max"/>): safe for relu and abs (|x| &gt;= 0.1 &gt; 0.05).</summary>
    public Tensor AwayFromZero(Shape shape, double min = KinkMargin, double max = 2)
    {
        var v = new double[shape.Size];
        for (int i = 0; i < v.Length; i++)
        {
            double m = min + (max - min) * _rng.NextDouble();
            v[i] = _rng.NextDouble() < 0.5 ? -m : m;
        }
        return Tensor.FromSpan<double>(v, shape);
    }

    /// <summary>Positive values in [<paramref name="low"/>, <paramref name="high"/>): safe for log and sqrt.</summary>
    public Tensor Positive(Shape shape, double low = 0.5, double high = 2.5) => Uniform(shape, low, high);

    /// <summary>Denominators: random sign, magnitude in [0.5, 2), well away from 0.</summary>
    public Tensor Denominator(Shape shape) => AwayFromZero(shape, 0.5, 2);

    /// <summary>
    /// Values at offsets from <paramref name="reference"/> whose magnitudes avoid [0, margin] and
    /// [kink - margin, kink + margin] (MAE's kink is at offset 0; Huber's also at |offset| = delta).
    /// Magnitudes lie in (margin, 2 * kink + margin) when a kink is given, else in (margin, 1.5).
    /// </summary>
    public Tensor OffsetFrom(Tensor reference, double? kink = null, double margin = KinkMargin)
    {
        var src = reference.AsSpan<double>();
        var v = new double[src.Length];
        double hi = kink is double k ? 2 * k + margin : 1.5;
        for (int i = 0; i < v.Length; i++)
        {
            double m;
            do m = margin + (hi - margin) * _rng.NextDouble();
            while (kink is double kk && Math.Abs(m - kk) <= margin);
            v[i] = src[i] + (_rng.NextDouble() < 0.5 ? -m : m);
        }
        return Tensor.FromSpan<double>(v, reference.Shape);
    }
}
