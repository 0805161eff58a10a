using Rnnx.Kernels;
using Rnnx.Diagnostics;
using Rnnx.Tests.TestUtilities;
using T = Rnnx.Tensor;

namespace Rnnx.Tests.Autodiff;

/// <summary>
/// One gradient-check case: how to make the (float64, seeded) inputs and the function of them whose gradient is
/// checked against central differences by <see cref="GradientChecker"/>.
/// </summary>
public sealed class OpCase(string name, Func<RandomTensors, T[]> inputs, Func<T[], T> f)
{
    public string Name { get; } = name;
    public Func<RandomTensors, T[]> Inputs { get; } = inputs;
    public Func<T[], T> F { get; } = f;

    /// <summary>A seed derived from the name (FNV-1a, stable across runs, unlike string.GetHashCode).</summary>
    public uint Seed
    {
        get
        {
            uint h = 2166136261;
            foreach (char c in Name) h = (h ^ c) * 16777619;
            return h;
        }
    }

    public override string ToString() => Name;
}

/// <summary>
/// Every op's backward checked against central differences in float64, on shapes with sizes 1, 3, 7, 17, 33 (not
/// multiples of vector widths) and the broadcast patterns the layers use.
/// </summary>
public class OpGradientTests
{
    private static Shape S(params int[] dims) => new(dims);

    private static string Fmt(int[] dims) => new Shape(dims).ToString();

    private static OpCase Case(string name, Func<RandomTensors, T[]> inputs, Func<T[], T> f) => new(name, inputs, f);

    // ------------------------------------------------------------------ element-wise binary

    private static readonly (int[] A, int[] B)[] BroadcastPairs =
    [
        ([1], [1]), ([3], [3]), ([7], [7]), ([17], [17]), ([33], [33]), ([3, 7], [3, 7]),
        ([3, 7], [7]), ([7], [3, 7]),                  // row vector (bias) either side
        ([3, 1], [1, 7]),                              // outer-product broadcast, both sides expand
        ([2, 3, 7], [3, 1]), ([3, 1], [2, 3, 7]),      // rank-3 with a column, both orders
        ([2, 1, 7], [3, 1]),                           // both sides broadcast on different axes
        ([], [3, 7]), ([3, 7], []),                    // scalar with a tensor
        ([1], [3, 7]), ([3, 7], [1]),                  // (1,)-shaped with a tensor
        ([2, 17, 33], [17, 1]),
    ];

    public static IEnumerable<TestCaseData> BinaryCases()
    {
        var ops = new (string Name, Func<T, T, T> F)[]
        {
            ("Add", T.Add), ("Subtract", T.Subtract), ("Multiply", T.Multiply), ("Divide", T.Divide),
        };
        foreach (var (name, f) in ops)
            foreach (var (a, b) in BroadcastPairs)
            {
                bool divide = name == "Divide";
                yield return Data(Case($"{name} {Fmt(a)} {Fmt(b)}",
                    r => [r.Uniform(S(a), -2, 2), divide ? r.Denominator(S(b)) : r.Uniform(S(b), -2, 2)],
                    x => f(x[0], x[1])));
            }

        // The same tensor on both sides: both contributions accumulate into one gradient.
        yield return Data(Case("Add x+x", r => [r.Uniform(3, 7)], x => x[0] + x[0]));
        yield return Data(Case("Subtract x-x", r => [r.Uniform(3, 7)], x => x[0] - x[0]));
        yield return Data(Case("Multiply x*x", r => [r.Uniform(3, 7)], x => x[0] * x[0]));
        yield return Data(Case("Divide x/x", r => [r.Denominator(S(3, 7))], x => x[0] / x[0]));
        // Constants (scalars that do not require a gradient) through the operators.
        yield return Data(Case("Add x+2", r => [r.Uniform(7)], x => x[0] + 2.0));
        yield return Data(Case("Subtract 3-x", r => [r.Uniform(7)], x => 3.0 - x[0]));
        yield return Data(Case("Multiply 2.5*x", r => [r.Uniform(7)], x => 2.5 * x[0]));
        yield return Data(Case("Divide x/4", r => [r.Uniform(7)], x => x[0] / 4.0));
        // Only one side requires a gradient: the other is a closure constant.
        var c = new RandomTensors(7).Uniform(3, 7);
        yield return Data(Case("Multiply x*const", r => [r.Uniform(7)], x => x[0] * c));
        yield return Data(Case("Divide const/x", r => [r.Denominator(S(3, 7))], x => c / x[0]));
    }

    // ------------------------------------------------------------------ element-wise unary

    private static readonly int[][] UnaryShapes = [[], [1], [3], [7], [17], [33], [3, 7], [2, 3, 5]];

    public static IEnumerable<TestCaseData> UnaryCases()
    {
        var ops = new (string Name, Func<T, T> F, Func<RandomTensors, Shape, T> Input)[]
        {
            ("Negate", T.Negate, (r, s) => r.Uniform(s, -2, 2)),
            ("Exp", T.Exp, (r, s) => r.Uniform(s, -2, 2)),
            ("Log", T.Log, (r, s) => r.Positive(s)),                 // x > 0
            ("Sqrt", T.Sqrt, (r, s) => r.Positive(s)),               // x > 0
            ("Square", T.Square, (r, s) => r.Uniform(s, -2, 2)),
            ("Tanh", T.Tanh, (r, s) => r.Uniform(s, -2, 2)),
            ("Sigmoid", T.Sigmoid, (r, s) => r.Uniform(s, -3, 3)),
            ("Relu", T.Relu, (r, s) => r.AwayFromZero(s)),           // |x| > 0.05: no kink within a step
            ("Abs", T.Abs, (r, s) => r.AwayFromZero(s)),
            ("Softplus", T.Softplus, (r, s) => r.Uniform(s, -4, 4)),
            ("Gelu", T.Gelu, (r, s) => r.Uniform(s, -4, 4)),
            ("Elu", T.Elu, (r, s) => r.AwayFromZero(s, max: 3)),     // second derivative jumps at 0
            ("Selu", T.Selu, (r, s) => r.AwayFromZero(s, max: 3)),   // derivative jumps at 0 (scale vs scale·α)
            ("Swish", T.Swish, (r, s) => r.Uniform(s, -4, 4)),
        };
        foreach (var (name, f, input) in ops)
            foreach (var shape in UnaryShapes)
                yield return Data(Case($"{name} {Fmt(shape)}", r => [input(r, S(shape))], x => f(x[0])));
        // Unary ops applied to recorded intermediates (the gradient flows through tape-owned buffers).
        yield return Data(Case("Relu(Tanh(x) * 3)", r => [r.Uniform(3, 7)], x => T.Relu(T.Tanh(x[0]) * 3.0)));
        yield return Data(Case("Sqrt(Exp(x))", r => [r.Uniform(17)], x => T.Sqrt(T.Exp(x[0]))));
    }

    // ------------------------------------------------------------------ matmul

    public static IEnumerable<TestCaseData> MatMulCases()
    {
        var pairs = new (int[] A, int[] B)[]
        {
            ([1, 1], [1, 1]), ([3, 7], [7, 1]), ([1, 17], [17, 33]), ([33, 17], [17, 7]), ([7, 3], [3, 17]),   // 2-D
            ([2, 3, 5], [5, 7]), ([2, 7, 3], [3, 1]), ([2, 2, 3, 5], [5, 4]),                                   // (..., m, k) x (k, n)
            ([2, 3, 5], [2, 5, 4]), ([1, 7, 3], [1, 3, 2]), ([2, 2, 3, 5], [2, 2, 5, 3]),                         // batched
        };
        foreach (var (a, b) in pairs)
            yield return Data(Case($"MatMul {Fmt(a)} x {Fmt(b)}", r => [r.Uniform(S(a)), r.Uniform(S(b))], x => T.MatMul(x[0], x[1])));
        yield return Data(Case("MatMul x x (7, 7) same tensor", r => [r.Uniform(7, 7)], x => T.MatMul(x[0], x[0])));
        yield return Data(Case("MatMul x x^T", r => [r.Uniform(3, 5)], x => T.MatMul(x[0], T.Transpose(x[0]))));
    }

    // ------------------------------------------------------------------ shape ops

    public static IEnumerable<TestCaseData> ShapeCases()
    {
        // Transpose
        var perms = new (int[] Shape, int[] Perm)[]
        {
            ([3, 7], []), ([1, 7], []), ([2, 3, 5], []), ([33, 17], [1, 0]),
            ([2, 3, 5], [0, 2, 1]), ([2, 3, 5], [2, 0, 1]), ([2, 3, 5], [1, 2, 0]), ([2, 3, 5], [2, 1, 0]), ([2, 3, 5], [0, 1, 2]),
            ([2, 3, 5], [-1, 0, 1]), ([2, 3, 1, 5], [3, 1, 0, 2]), ([7], [0]),
        };
        foreach (var (shape, perm) in perms)
            yield return Data(Case($"Transpose {Fmt(shape)} [{string.Join(",", perm)}]", r => [r.Uniform(S(shape))], x => T.Transpose(x[0], perm)));

        // Reshape (a view; the backward adds g unchanged)
        var reshapes = new (int[] From, int[] To)[]
        {
            ([2, 3, 5], [6, 5]), ([2, 3, 5], [-1]), ([3, 7], [7, 3]), ([1], []), ([], [1, 1]), ([2, 3, 5], [5, -1, 2]), ([17], [17, 1]),
        };
        foreach (var (from, to) in reshapes)
            yield return Data(Case($"Reshape {Fmt(from)} -> [{string.Join(",", to)}]", r => [r.Uniform(S(from))], x => T.Reshape(x[0], to)));
        yield return Data(Case("Reshape of an intermediate", r => [r.Uniform(3, 7)], x => T.Reshape(T.Tanh(x[0]), 7, 3) * T.Reshape(x[0], 7, 3)));

        // Slice
        var slices = new (int[] Shape, int Axis, int? Start, int? Stop, int Step)[]
        {
            ([2, 50, 3], 1, 3, null, 2),       // numpy Y[:, 3::2]
            ([2, 50, 3], 1, -10, null, 1),     // Y[:, -10:]
            ([2, 50, 3], 1, null, -1, 3),      // Y[:, :-1:3]
            ([2, 50, 3], -1, null, null, 2),   // Y[..., ::2]
            ([17], 0, 1, 16, 3),
            ([7, 3], 0, null, null, 2),
            ([3, 7, 2], -2, -3, -1, 1),
            ([33], 0, -100, 100, 1),           // bounds clamped
            ([33], 0, 5, 6, 1),                // a single element
            ([1], 0, null, null, 1),
        };
        foreach (var (shape, axis, start, stop, step) in slices)
            yield return Data(Case($"Slice {Fmt(shape)} axis {axis} [{start}:{stop}:{step}]", r => [r.Uniform(S(shape))], x => T.Slice(x[0], axis, start, stop, step)));
        yield return Data(Case("Slice overlapping uses of one tensor", r => [r.Uniform(2, 9)],
            x => T.Slice(x[0], 1, 0, 6) * T.Slice(x[0], 1, 3, null)));

        // Flip
        foreach (var (shape, axis) in new (int[], int)[] { ([2, 5, 3], 1), ([2, 5, 3], 0), ([2, 5, 3], -1), ([7], 0), ([1, 1], 1) })
            yield return Data(Case($"Flip {Fmt(shape)} axis {axis}", r => [r.Uniform(S(shape))], x => T.Flip(x[0], axis)));
        yield return Data(Case("Flip times its input", r => [r.Uniform(3, 4)], x => T.Flip(x[0], 1) * x[0]));

        // Select (Slice + Reshape)
        var selects = new (int[] Shape, int Axis, int Index)[]
        {
            ([2, 50, 3], 1, 0), ([2, 50, 3], 1, -1), ([2, 50, 3], 1, 17), ([2, 50, 3], 0, 1), ([2, 50, 3], 2, -2), ([7], 0, 3), ([3, 1, 7], 1, 0),
        };
        foreach (var (shape, axis, index) in selects)
            yield return Data(Case($"Select {Fmt(shape)} axis {axis} index {index}", r => [r.Uniform(S(shape))], x => T.Select(x[0], axis, index)));

        // Concat: three tensors with different lengths along the axis
        var concats = new (int Axis, int[][] Shapes)[]
        {
            (0, [[1, 4], [3, 4], [7, 4]]),
            (1, [[2, 1, 3], [2, 3, 3], [2, 7, 3]]),
            (-1, [[2, 3, 1], [2, 3, 4], [2, 3, 2]]),
            (2, [[2, 3, 17], [2, 3, 1], [2, 3, 3]]),
            (0, [[1], [3], [7]]),
            (1, [[3, 7]]),
        };
        foreach (var (axis, shapes) in concats)
            yield return Data(Case($"Concat axis {axis} {string.Join(" ", shapes.Select(Fmt))}",
                r => shapes.Select(s => r.Uniform(S(s))).ToArray(), x => T.Concat(axis, x)));
        yield return Data(Case("Concat [x, y, x] axis 1", r => [r.Uniform(3, 2), r.Uniform(3, 5)], x => T.Concat(1, x[0], x[1], x[0])));

        // Stack along every axis
        foreach (int axis in new[] { 0, 1, 2, -1 })
            yield return Data(Case($"Stack 3 x (3, 7) axis {axis}", r => [r.Uniform(3, 7), r.Uniform(3, 7), r.Uniform(3, 7)], x => T.Stack(axis, x)));
        foreach (int axis in new[] { 0, 1 })
            yield return Data(Case($"Stack 3 x (5,) axis {axis}", r => [r.Uniform(5), r.Uniform(5), r.Uniform(5)], x => T.Stack(axis, x)));
        yield return Data(Case("Stack [x, y, x] axis 1", r => [r.Uniform(2, 3), r.Uniform(2, 3)], x => T.Stack(1, x[0], x[1], x[0])));
        yield return Data(Case("Stack 2 x () axis 0", r => [r.Uniform(S()), r.Uniform(S())], x => T.Stack(0, x)));
    }

    // ------------------------------------------------------------------ reductions

    public static IEnumerable<TestCaseData> ReductionCases()
    {
        var reductions = new (int[] Shape, int[] Axes, bool KeepDims)[]
        {
            ([3, 7], [], false), ([3, 7], [], true), ([3, 7], [0], false), ([3, 7], [1], false), ([3, 7], [-1], true), ([3, 7], [0], true),
            ([2, 3, 5], [0, 2], false), ([2, 3, 5], [0, 2], true), ([2, 3, 5], [1], true), ([2, 3, 5], [2, 0, 1], false),
            ([2, 17, 7], [1], false), ([33], [0], true), ([1], [], false), ([], [], false), ([2, 1, 3], [1], false),
        };
        foreach (bool mean in new[] { false, true })
            foreach (var (shape, axes, keep) in reductions)
            {
                string name = $"{(mean ? "Mean" : "Sum")} {Fmt(shape)} axes [{string.Join(",", axes)}]{(keep ? " keepDims" : "")}";
                yield return Data(Case(name, r => [r.Uniform(S(shape))],
                    x => mean ? T.Mean(x[0], keep, axes) : T.Sum(x[0], keep, axes)));
            }
    }

    // ------------------------------------------------------------------ losses

    public static IEnumerable<TestCaseData> LossCases()
    {
        int[][] shapes = [[3, 7], [33], [1], [2, 17, 1], []];
        foreach (var shape in shapes)
        {
            // Inputs are [yTrue, yPred].
            yield return Data(Case($"MeanSquaredError {Fmt(shape)}", r => [r.Uniform(S(shape)), r.Uniform(S(shape))], x => T.MeanSquaredError(x[0], x[1])));
            yield return Data(Case($"MeanAbsoluteError {Fmt(shape)}", r => TrueNear(r, shape, kink: null), x => T.MeanAbsoluteError(x[0], x[1])));
            foreach (double delta in new[] { 1.0, 0.5 })
                yield return Data(Case($"Huber {Fmt(shape)} delta {delta}", r => TrueNear(r, shape, delta), x => T.Huber(x[0], x[1], delta)));
        }
        yield return Data(Case("Huber (3, 7) delta 10 (all quadratic)", r => [r.Uniform(3, 7), r.Uniform(3, 7)], x => T.Huber(x[0], x[1], 10)));
        yield return Data(Case("MeanSquaredError of an intermediate", r => [r.Uniform(3, 7), r.Uniform(3, 7)], x => T.MeanSquaredError(x[0], T.Tanh(x[1]))));

        // yPred random; yTrue at offsets that keep |yPred - yTrue| away from 0 (MAE, Huber) and from delta (Huber).
        static T[] TrueNear(RandomTensors r, int[] shape, double? kink)
        {
            var pred = r.Uniform(S(shape));
            return [r.OffsetFrom(pred, kink), pred];
        }
    }

    // ------------------------------------------------------------------ conv1d

    public static IEnumerable<TestCaseData> Conv1DCases()
    {
        const int batch = 2, length = 17, filters = 2;
        foreach (var padding in new[] { Conv1DPadding.Valid, Conv1DPadding.Same, Conv1DPadding.Causal })
            foreach (int stride in new[] { 1, 2 })
                foreach (int dilation in new[] { 1, 2, 4 })
                    foreach (int size in new[] { 1, 2, 3, 4 })
                        foreach (int channels in new[] { 1, 3 })
                            yield return Data(ConvCase(batch, length, channels, size, filters, stride, dilation, padding));
        // Edge geometries.
        yield return Data(ConvCase(2, 1, 3, 3, 2, 1, 1, Conv1DPadding.Same));     // length 1, padding on both sides
        yield return Data(ConvCase(2, 1, 1, 4, 3, 1, 4, Conv1DPadding.Causal));   // length 1, all taps but one in the padding
        yield return Data(ConvCase(1, 5, 3, 4, 2, 2, 1, Conv1DPadding.Same));     // odd total padding
        yield return Data(ConvCase(2, 7, 3, 4, 2, 1, 2, Conv1DPadding.Valid));    // exactly one output position
        yield return Data(ConvCase(1, 7, 1, 1, 1, 3, 1, Conv1DPadding.Valid));    // stride larger than the kernel
        yield return Data(ConvCase(1, 33, 3, 3, 5, 2, 2, Conv1DPadding.Same));
    }

    private static OpCase ConvCase(int batch, int length, int cin, int size, int cout, int stride, int dilation, Conv1DPadding padding) =>
        Case($"Conv1D x ({batch}, {length}, {cin}) k ({size}, {cin}, {cout}) stride {stride} dilation {dilation} {padding}",
            r => [r.Uniform(batch, length, cin), r.Uniform(size, cin, cout)],
            x => T.Conv1D(x[0], x[1], stride, dilation, padding));

    // ------------------------------------------------------------------ layer norm

    public static IEnumerable<TestCaseData> LayerNormCases()
    {
        var shapes = new (int[] Shape, double Eps)[]
        {
            ([4, 3], 1e-3), ([2, 20], 1e-3), ([2, 3, 20], 1e-3), ([2, 5, 3], 1e-5), ([1, 7], 1e-3), ([3, 17], 0.1),
            ([4, 1], 1e-3),   // N = 1 is degenerate: y = beta, dy/dx = 0 (checked anyway)
        };
        foreach (var (shape, eps) in shapes)
        {
            int n = shape[^1];
            yield return Data(Case($"LayerNorm {Fmt(shape)} eps {eps}",
                r => [r.Normal(S(shape), 2), r.Uniform(S(n), -1.5, 1.5), r.Uniform(S(n))],
                x => T.LayerNorm(x[0], x[1], x[2], eps)));
        }
        yield return Data(Case("LayerNorm of an intermediate", r => [r.Uniform(2, 3, 20), r.Uniform(20), r.Uniform(20)],
            x => T.LayerNorm(T.Tanh(x[0]) * 2.0, x[1], x[2])));
    }

    // ------------------------------------------------------------------ softmax, log-softmax, clip

    public static IEnumerable<TestCaseData> SoftmaxCases()
    {
        var shapes = new (int[] Shape, int Axis)[]
        {
            ([1], -1), ([7], -1), ([3, 7], -1), ([3, 7], 0), ([2, 3, 5], 1), ([2, 3, 5], 0), ([2, 3, 33], -1), ([4, 1], -1),
        };
        foreach (var (shape, axis) in shapes)
        {
            yield return Data(Case($"Softmax {Fmt(shape)} axis {axis}", r => [r.Uniform(S(shape), -3, 3)], x => T.Softmax(x[0], axis)));
            yield return Data(Case($"LogSoftmax {Fmt(shape)} axis {axis}", r => [r.Uniform(S(shape), -3, 3)], x => T.LogSoftmax(x[0], axis)));
        }
        // Large logits: the max shift keeps both finite and the gradients exact.
        yield return Data(Case("LogSoftmax (2, 5) logits near 800", r => [r.Uniform(S(2, 5), 795, 805)], x => T.LogSoftmax(x[0])));
        yield return Data(Case("Softmax of an intermediate", r => [r.Uniform(3, 7)], x => T.Softmax(T.Tanh(x[0]) * 4.0) * x[0]));
        // Clip: inputs kept 0.1 away from the bounds so no difference straddles one; clipped elements get 0.
        yield return Data(Case("Clip (3, 7) [-0.5, 0.5]", r => [r.OffsetFrom(T.Full(S(3, 7), 0.5, DType.Float64), kink: 1.0)],
            x => T.Clip(x[0], -0.5, 0.5)));
        yield return Data(Case("Clip (17) wide bounds", r => [r.Uniform(17)], x => T.Clip(x[0], -10, 10)));
    }

    public static IEnumerable<TestCaseData> PoolingCases()
    {
        var geometries = new (int Length, int Pool, int Stride, Conv1DPadding Padding)[]
        {
            (5, 2, 2, Conv1DPadding.Valid), (5, 2, 1, Conv1DPadding.Valid), (5, 2, 2, Conv1DPadding.Same), (7, 3, 2, Conv1DPadding.Same),
            (4, 4, 1, Conv1DPadding.Valid), (1, 3, 1, Conv1DPadding.Same), (9, 2, 3, Conv1DPadding.Same), (6, 1, 1, Conv1DPadding.Valid),
        };
        foreach (var (len, pool, stride, padding) in geometries)
        {
            string geo = $"L {len} pool {pool} stride {stride} {padding}";
            // Uniform values are distinct almost surely (far more than the checker's step apart), so no window's maximum changes.
            yield return Data(Case($"MaxPool1D {geo}", r => [r.Uniform(2, len, 3)], x => T.MaxPool1D(x[0], pool, stride, padding)));
            yield return Data(Case($"AveragePool1D {geo}", r => [r.Uniform(2, len, 3)], x => T.AveragePool1D(x[0], pool, stride, padding)));
        }
    }

    public static IEnumerable<TestCaseData> EmbeddingCases()
    {
        // Repeated ids accumulate into one row; id 0 and the last id are both used.
        var ids = T.FromArray(new double[] { 0, 3, 1, 3, 4, 0 }, 2, 3);
        yield return Data(Case("Embedding (2, 3) ids into (5, 4)", r => [r.Uniform(5, 4)], x => T.Embedding(ids, x[0])));
        yield return Data(Case("Embedding of a single id", r => [r.Uniform(1, 3)], x => T.Embedding(T.FromArray(new double[] { 0 }, 1, 1), x[0]) * x[0]));
    }

    [TestCaseSource(nameof(EmbeddingCases))]
    public void Embedding(OpCase c) => Run(c);

    [TestCaseSource(nameof(PoolingCases))]
    public void Pooling(OpCase c) => Run(c);

    [TestCaseSource(nameof(SoftmaxCases))]
    public void Softmax(OpCase c) => Run(c);

    // ------------------------------------------------------------------ composites

    public static IEnumerable<TestCaseData> CompositeCases()
    {
        // An LSTM unrolled over 5 steps from primitives (Select, MatMul, Add, Slice, Sigmoid, Tanh, Multiply, Stack),
        // a Dense head on the sequence and an MSE loss. Inputs: x, W, U, b, Wd, target.
        const int batch = 2, steps = 5, features = 3, units = 4;
        yield return Data(Case("Composite LSTM -> Dense -> MSE",
            r => [r.Uniform(batch, steps, features), r.Uniform(features, 4 * units), r.Uniform(units, 4 * units), r.Uniform(4 * units),
                  r.Uniform(units, 1), r.Uniform(batch, steps, 1)],
            x =>
            {
                T xs = x[0], w = x[1], u = x[2], b = x[3], wd = x[4], target = x[5];
                var h = T.Zeros(S(batch, units), DType.Float64);
                var c = T.Zeros(S(batch, units), DType.Float64);
                var hs = new T[steps];
                for (int t = 0; t < steps; t++)
                {
                    var z = T.MatMul(T.Select(xs, 1, t), w) + T.MatMul(h, u) + b;
                    var i = T.Sigmoid(T.Slice(z, 1, 0, units));
                    var f = T.Sigmoid(T.Slice(z, 1, units, 2 * units));
                    var g = T.Tanh(T.Slice(z, 1, 2 * units, 3 * units));
                    var o = T.Sigmoid(T.Slice(z, 1, 3 * units, null));
                    c = f * c + i * g;
                    h = o * T.Tanh(c);
                    hs[t] = h;
                }
                var y = T.MatMul(T.Stack(1, hs), wd);
                return T.MeanSquaredError(target, y);
            }));

        // A GRU-like step with (1 - z) and a non-scalar output (the checker's random projection covers it).
        yield return Data(Case("Composite GRU cell",
            r => [r.Uniform(3, 2), r.Uniform(3, 5), r.Uniform(2, 15), r.Uniform(5, 15)],
            x =>
            {
                T xt = x[0], h = x[1], w = x[2], u = x[3];
                var zx = T.MatMul(xt, w);
                var zh = T.MatMul(h, u);
                var z = T.Sigmoid(T.Slice(zx, -1, 0, 5) + T.Slice(zh, -1, 0, 5));
                var rr = T.Sigmoid(T.Slice(zx, -1, 5, 10) + T.Slice(zh, -1, 5, 10));
                var hh = T.Tanh(T.Slice(zx, -1, 10, 15) + rr * T.Slice(zh, -1, 10, 15));
                return z * h + (1.0 - z) * hh;
            }));

        // Scaled dot-product attention: batched MatMul, Transpose, softmax from Exp / Sum(keepDims) / Divide.
        yield return Data(Case("Composite attention",
            r => [r.Uniform(2, 3, 4), r.Uniform(2, 5, 4), r.Uniform(2, 5, 3)],
            x =>
            {
                T q = x[0], k = x[1], v = x[2];
                var s = T.MatMul(q, T.Transpose(k, 0, 2, 1)) / Math.Sqrt(4);
                var e = T.Exp(s - T.Mean(s, true, -1));
                var p = e / T.Sum(e, true, -1);
                return T.MatMul(p, v);
            }));

        // A small WaveNet-like stack: causal dilated convs, tanh, layer norm, global mean, dense, MSE.
        yield return Data(Case("Composite Conv1D -> LayerNorm -> Mean -> Dense",
            r => [r.Uniform(2, 9, 1), r.Uniform(2, 1, 4), r.Uniform(2, 4, 4), r.Uniform(S(4), -1.5, 1.5), r.Uniform(4), r.Uniform(4, 1), r.Uniform(2, 1)],
            x =>
            {
                var h = T.Tanh(T.Conv1D(x[0], x[1], 1, 1, Conv1DPadding.Causal));
                h = T.Tanh(T.Conv1D(h, x[2], 1, 2, Conv1DPadding.Causal)) + h;
                h = T.LayerNorm(h, x[3], x[4]);
                var pooled = T.Mean(h, 1);
                return T.MeanSquaredError(x[6], T.MatMul(pooled, x[5]));
            }));
    }

    private static TestCaseData Data(OpCase c) => new TestCaseData(c).SetArgDisplayNames(c.Name);

    private static void Run(OpCase c)
    {
        var inputs = c.Inputs(new RandomTensors(c.Seed));
        GradientChecker.Check(c.F, inputs);
    }

    [TestCaseSource(nameof(BinaryCases))]
    public void Binary(OpCase c) => Run(c);

    [TestCaseSource(nameof(UnaryCases))]
    public void Unary(OpCase c) => Run(c);

    [TestCaseSource(nameof(MatMulCases))]
    public void MatMul(OpCase c) => Run(c);

    [TestCaseSource(nameof(ShapeCases))]
    public void ShapeOps(OpCase c) => Run(c);

    [TestCaseSource(nameof(ReductionCases))]
    public void Reductions(OpCase c) => Run(c);

    [TestCaseSource(nameof(LossCases))]
    public void Losses(OpCase c) => Run(c);

    [TestCaseSource(nameof(Conv1DCases))]
    public void Conv1D(OpCase c) => Run(c);

    [TestCaseSource(nameof(LayerNormCases))]
    public void LayerNorm(OpCase c) => Run(c);

    [TestCaseSource(nameof(CompositeCases))]
    public void Composite(OpCase c) => Run(c);

    // ------------------------------------------------------------------ the checker itself

    [Test]
    public void Checker_WithParameterLeaves_ChecksAndRestoresThem()
    {
        // How layer tests use it: a closure runs the "layer" on Float64 parameters; the checker perturbs their buffers.
        var r = new RandomTensors(42);
        var x = r.Uniform(4, 3);
        var kernel = new Parameter("dense/kernel", r.Uniform(3, 5));
        var bias = new Parameter("dense/bias", r.Uniform(5));
        var frozen = new Parameter("dense/scale", r.Uniform(5), trainable: false);
        double[] before = kernel.Value.ToDoubleArray();

        var result = GradientChecker.Check(() => T.Tanh(T.MatMul(x, kernel.Value) + bias.Value) * frozen.Value, [kernel, bias, frozen]);

        Assert.That(result.Elements, Is.EqualTo(15 + 5 + 5));
        Assert.That(kernel.Value.ToDoubleArray(), Is.EqualTo(before), "values restored bit-exactly");
        Assert.That(frozen.Value.RequiresGrad, Is.False, "a frozen parameter is unmarked again");
        Assert.That(kernel.Value.RequiresGrad, Is.True);
    }

    [Test]
    public void Checker_DetectsAWrongGradient()
    {
        // x * stop_gradient(x): Copy() leaves the tape, so the analytic gradient is x while d(x^2)/dx is 2x.
        var x = new RandomTensors(1).AwayFromZero(S(3, 7));
        var result = GradientChecker.Compare(() => x * x.Copy(), GradientCheckOptions.Default, x);
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Mismatches, Is.EqualTo(21));
        Assert.That(result.Message, Does.Contain("analytic").And.Contain("numeric"));
    }

    [Test]
    public void Checker_DetectsAGradientMissingABroadcastSum()
    {
        // The bias is used with broadcasting but its contribution is routed through a copy: gradient zero, numeric not.
        var r = new RandomTensors(2);
        var x = r.Uniform(3, 7);
        var b = r.Uniform(7);
        var result = GradientChecker.Compare(() => x + b.Copy(), GradientCheckOptions.Default, x, b);
        Assert.That(result.Mismatches, Is.EqualTo(7));
    }

    [Test]
    public void Checker_RejectsFloat32AndTapeTensors()
    {
        var f32 = T.Ones(S(3));
        Assert.Throws<ArgumentException>(() => GradientChecker.Check(() => f32, f32));
        using var tape = new Tape();
        using (tape.Activate())
        {
            var onTape = T.Tanh(T.Ones(S(3), DType.Float64));
            Assert.Throws<ArgumentException>(() => GradientChecker.Check(() => onTape, onTape));
        }
        tape.Reset();
    }
}
