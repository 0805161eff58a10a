using System.Globalization;
using System.Text;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Random;

namespace Rnnx.Diagnostics;

/// <summary>
/// A float64 gradient checker, like <c>torch.autograd.gradcheck</c>: compares the gradients the tape computes with
/// central differences, over inputs and every weight of a layer, a recurrent cell or a model, and reports the worst entries.
/// The project's own gradient tests use it; use it to check a custom layer or cell (see docs/layers.md).
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
/// e.g. random values kept away from kinks by more than 1e5 steps.</para>
/// <para>Every evaluation runs on a private, active and recording tape (the same mode for the analytic and the numeric
/// evaluations) that is reset after it, unless <see cref="GradientCheckOptions.RecordNumeric"/> is false: then the
/// numeric evaluations run outside any tape, which checks an inference-only path against the recorded one's gradients. The function is evaluated twice at the base point and must return bit-identical
/// results (it must be deterministic and free of hidden state between calls).</para>
/// </remarks>
public static class GradientChecker
{
    /// <summary>
    /// Checks a layer's gradients with respect to its input and every weight, on L = Σ layer(input, training: true) ⊙ R.
    /// The layer must be built in Float64 (<c>layer.Build(shape, DType.Float64)</c>); <paramref name="input"/> a Float64
    /// tensor created outside any tape. Tip: set random weights first, so zero biases or unit gains do not hide terms.
    /// </summary>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    /// <exception cref="ArgumentException">The layer or input is not Float64, or the layer is not built.</exception>
    public static GradientCheckResult CheckLayer(Layer layer, Tensor input, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        RequireFloat64(layer.IsBuilt, layer.DType, layer.Name);
        var (wrt, names) = Leaves(input, layer.NamedWeights());
        return Check(() => layer.Call(input, training: true), options ?? GradientCheckOptions.Default, names, wrt);
    }

    /// <summary>
    /// Checks one step of a recurrent cell with respect to its input, its states and every weight, on
    /// L = Σ (output ⊙ R₀) + Σ (newState_i ⊙ R_i). The cell must be built in Float64.
    /// </summary>
    /// <param name="cell">The cell (built in Float64, e.g. through <c>new RNN(cell).Build([null, features], DType.Float64)</c>).</param>
    /// <param name="input">(batch, features) Float64 input created outside any tape.</param>
    /// <param name="states">One (batch, size) Float64 tensor per <see cref="RecurrentCell.StateSizes"/> entry.</param>
    /// <param name="options">Step and tolerances.</param>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    /// <exception cref="ArgumentException">Not Float64, not built, or the wrong number of states.</exception>
    public static GradientCheckResult CheckCell(RecurrentCell cell, Tensor input, Tensor[] states, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(states);
        RequireFloat64(cell.IsBuilt, cell.DType, cell.Name);
        if (states.Length != cell.StateSizes.Count)
            throw new ArgumentException($"GradientChecker: {cell.Name} has {cell.StateSizes.Count} state(s), got {states.Length}.", nameof(states));
        var (wrt, names) = Leaves(input, cell.NamedWeights());
        for (int i = 0; i < states.Length; i++)
        {
            wrt.Insert(1 + i, states[i]);
            names.Insert(1 + i, $"state {i}");
        }
        var next = new Tensor[states.Length];
        return Check(() =>
        {
            var output = cell.Call(input, states, next);
            var parts = new List<Tensor> { Tensor.Reshape(output, new Shape(output.Size)) };
            foreach (var s in next) parts.Add(Tensor.Reshape(s, new Shape(s.Size)));
            return parts.Count == 1 ? parts[0] : Tensor.Concat(0, parts.ToArray());
        }, options ?? GradientCheckOptions.Default, names, wrt);
    }

    /// <summary>
    /// Checks a model's gradients with respect to its input and every weight: of Σ model(x, training: true) ⊙ R, or,
    /// when <paramref name="loss"/> and <paramref name="y"/> are given, of the loss itself (what training differentiates).
    /// The model must be built in Float64 (<c>model.Build(shape, DType.Float64)</c>).
    /// </summary>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    /// <exception cref="ArgumentException">Not Float64 or not built; only one of <paramref name="y"/> and <paramref name="loss"/> given.</exception>
    public static GradientCheckResult CheckModel(Model model, Tensor x, Tensor? y = null, Loss? loss = null, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        RequireFloat64(model.IsBuilt, model.DType, model.Name);
        if (y.HasValue != (loss is not null)) throw new ArgumentException("GradientChecker: give both targets and a loss, or neither.", nameof(loss));
        var (wrt, names) = Leaves(x, model.NamedWeights());
        Func<Tensor> f = loss is null ? () => model.Call(x, training: true) : () => loss.Compute(y!.Value, model.Call(x, training: true));
        return Check(f, options ?? GradientCheckOptions.Default, names, wrt);
    }

    private static void RequireFloat64(bool built, DType dtype, string name)
    {
        if (!built) throw new ArgumentException($"GradientChecker: {name} is not built; build it in Float64 first.");
        if (dtype != DType.Float64) throw new ArgumentException($"GradientChecker: {name} has {dtype} weights; gradient checks need Float64 (build it with DType.Float64).");
    }

    private static (List<Tensor> Wrt, List<string> Names) Leaves(Tensor input, IReadOnlyList<(string Name, Parameter Parameter)> weights)
    {
        var wrt = new List<Tensor> { input };
        var names = new List<string> { "input" };
        foreach (var (name, p) in weights)
        {
            wrt.Add(p.Value);
            names.Add(name);
        }
        return (wrt, names);
    }

    /// <summary>
    /// Checks the gradients of <paramref name="f"/> with respect to <paramref name="wrt"/> (leaf float64 tensors,
    /// e.g. <see cref="Parameter.Value"/>s that <paramref name="f"/> closes over).
    /// </summary>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    public static GradientCheckResult Check(Func<Tensor> f, params Tensor[] wrt) => Check(f, GradientCheckOptions.Default, wrt);

    /// <summary>Checks the gradients of <paramref name="f"/> with respect to <paramref name="parameters"/> (float64).</summary>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    public static GradientCheckResult Check(Func<Tensor> f, IEnumerable<Parameter> parameters, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var ps = parameters.ToList();
        return Check(f, options ?? GradientCheckOptions.Default, ps.Select(p => p.Name).ToList(), ps.Select(p => p.Value).ToList());
    }

    /// <summary>
    /// Checks the gradients of <paramref name="f"/> applied to <paramref name="inputs"/> (leaf float64 tensors) with
    /// respect to every input.
    /// </summary>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    public static GradientCheckResult Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, GradientCheckOptions.Default, inputs);

    /// <summary>As <see cref="Check(Func{Tensor[], Tensor}, Tensor[])"/> with explicit options.</summary>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    public static GradientCheckResult Check(Func<Tensor[], Tensor> f, GradientCheckOptions options, params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        return Check(() => f(inputs), options, inputs);
    }

    /// <summary>As <see cref="Check(Func{Tensor}, Tensor[])"/> with explicit options.</summary>
    /// <exception cref="GradientCheckException">A derivative is outside the tolerance.</exception>
    public static GradientCheckResult Check(Func<Tensor> f, GradientCheckOptions options, params Tensor[] wrt)
    {
        ArgumentNullException.ThrowIfNull(wrt);
        return Check(f, options, Enumerable.Range(0, wrt.Length).Select(i => $"input {i}").ToList(), wrt);
    }

    private static GradientCheckResult Check(Func<Tensor> f, GradientCheckOptions options, IReadOnlyList<string> names, IReadOnlyList<Tensor> wrt)
    {
        var result = Compare(f, options, names, wrt);
        if (!result.Passed) throw new GradientCheckException(result.Message!, result);
        return result;
    }

    /// <summary>
    /// The comparison behind the <c>Check</c> methods, without throwing on a mismatch: returns the result, whose
    /// <see cref="GradientCheckResult.Message"/> lists the worst mismatches.
    /// </summary>
    /// <exception cref="ArgumentException">A leaf is not Float64, was created on a tape, or is repeated; the output is not Float64.</exception>
    /// <exception cref="InvalidOperationException">The function is not deterministic or its output shape changes.</exception>
    public static GradientCheckResult Compare(Func<Tensor> f, GradientCheckOptions options, params Tensor[] wrt)
    {
        ArgumentNullException.ThrowIfNull(wrt);
        return Compare(f, options, Enumerable.Range(0, wrt.Length).Select(i => $"input {i}").ToList(), wrt);
    }

    private static GradientCheckResult Compare(Func<Tensor> f, GradientCheckOptions options, IReadOnlyList<string> names, IReadOnlyList<Tensor> wrt)
        => NumericGradients.Compare(f, options, names, wrt);
}
