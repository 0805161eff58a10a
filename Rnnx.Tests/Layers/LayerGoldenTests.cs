using Rnnx.Layers;
using Rnnx.Random;

namespace Rnnx.Tests.Layers;

/// <summary>
/// Forward values of the non-recurrent layers against Keras's own test goldens and hand cases worked out from the formulas
/// of the Keras layer code (keras-team/keras at 3422977a: keras/src/layers/core/dense.py, normalization/layer_normalization.py,
/// convolutional/base_conv.py with the output lengths of keras/src/ops/operation_utils.py compute_conv_output_shape;
/// "same" padding's left/right split is TensorFlow's, tensorflow/core/framework/kernel_shape_util.cc).
/// </summary>
public class LayerGoldenTests
{
    // ------------------------------------------------------------------ LayerNormalization

    [Test]
    public void LayerNormalization_KerasGolden_GammaOneBetaOne()
    {
        // keras/src/layers/normalization/layer_normalization_test.py: γ = 1, β = 1, input [0, 1, 2, 3, 4].
        var ln = new LayerNormalization();
        ln.Build([5]);
        ln.SetWeights(Tensor.Ones(new Shape(5)), Tensor.Ones(new Shape(5)));
        var y = ln.Call(Tensor.FromArray([0f, 1f, 2f, 3f, 4f], 1, 5)).ToFloatArray();
        Assert.That(y, Is.EqualTo(new[] { -0.41386f, 0.29307f, 1.0f, 1.70693f, 2.41386f }).Within(1e-5f));
    }

    [Test]
    public void LayerNormalization_Float64_MatchesTheFormulaWithEpsilonInsideTheRoot()
    {
        var rng = new NumPyRandomState(4);
        var ln = new LayerNormalization();
        ln.Build([6], DType.Float64, rng);
        var gamma = rng.Randn(6);
        var beta = rng.Randn(6);
        ln.SetWeights(Tensor.FromArray(gamma, 6), Tensor.FromArray(beta, 6));
        var x = rng.Randn(2, 3, 6);
        var y = ln.Call(Tensor.FromArray(x, 2, 3, 6)).ToDoubleArray();
        for (int r = 0; r < 6; r++)
        {
            var row = x.AsSpan(r * 6, 6).ToArray();
            double mu = row.Average();
            double var = row.Select(v => (v - mu) * (v - mu)).Average();   // biased
            for (int i = 0; i < 6; i++)
                Assert.That(y[r * 6 + i], Is.EqualTo(gamma[i] * (row[i] - mu) / Math.Sqrt(var + 1e-3) + beta[i]).Within(1e-12));
        }
    }

    // ------------------------------------------------------------------ Conv1D

    [Test]
    public void Conv1D_CausalDilated_HandCase()
    {
        // x = [1, 2, 3, 4], k = 2, d = 2, K = [a, b], bias c, causal → [b+c, 2b+c, a+3b+c, 2a+4b+c].
        const float a = 0.5f, b = -1.25f, c = 0.25f;
        var conv = new Conv1D(1, 2, padding: "causal", dilationRate: 2);
        conv.Build([null, 1]);
        conv.SetWeights(Tensor.FromArray([a, b], 2, 1, 1), Tensor.FromArray([c], 1));
        var y = conv.Call(Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4, 1));
        Assert.That(y.Shape, Is.EqualTo(new Shape(1, 4, 1)));
        Assert.That(y.ToFloatArray(), Is.EqualTo(new[] { b + c, 2 * b + c, a + 3 * b + c, 2 * a + 4 * b + c }));
    }

    [Test]
    public void Conv1D_Same_PutsTheOddExtraPaddingOnTheRight()
    {
        // k = 2, s = 1: total padding 1 → left 0, right 1: out[j] = K0·x[j] + K1·x[j+1], last uses a zero.
        var conv = new Conv1D(1, 2, padding: "same", useBias: false);
        conv.Build([null, 1]);
        conv.SetWeights(Tensor.FromArray([1f, 10f], 2, 1, 1));
        var y = conv.Call(Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4, 1)).ToFloatArray();
        Assert.That(y, Is.EqualTo(new[] { 21f, 32f, 43f, 4f }));

        // k = 4, s = 2 on 5 steps: L_out = 3, total = 3 → left 1, right 2; x_p = [0, x0..x4, 0, 0].
        var conv2 = new Conv1D(1, 4, strides: 2, padding: "same", useBias: false);
        conv2.Build([null, 1]);
        conv2.SetWeights(Tensor.FromArray([1f, 10f, 100f, 1000f], 4, 1, 1));
        var y2 = conv2.Call(Tensor.FromArray([1f, 2f, 3f, 4f, 5f], 1, 5, 1)).ToFloatArray();
        Assert.That(y2, Is.EqualTo(new[] { 0 + 10 * 1 + 100 * 2 + 1000 * 3f, 2 + 10 * 3 + 100 * 4 + 1000 * 5f, 4 + 10 * 5 + 0f }));
    }

    [Test]
    public void Conv1D_IsACrossCorrelation_TapZeroMultipliesTheEarliestInput()
    {
        var conv = new Conv1D(1, 3, useBias: false);
        conv.Build([null, 1]);
        conv.SetWeights(Tensor.FromArray([1f, 10f, 100f], 3, 1, 1));
        var y = conv.Call(Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4, 1)).ToFloatArray();
        Assert.That(y, Is.EqualTo(new[] { 1 + 20 + 300f, 2 + 30 + 400f }));
    }

    [TestCase("valid", 50, 4, 2, 1, 24)]   // the Conv+GRU model's first layer
    [TestCase("valid", 50, 4, 1, 1, 47)]
    [TestCase("valid", 50, 2, 1, 8, 42)]
    [TestCase("valid", 9, 3, 3, 1, 3)]
    [TestCase("valid", 4, 4, 1, 1, 1)]
    [TestCase("same", 50, 4, 2, 1, 25)]
    [TestCase("same", 50, 4, 1, 1, 50)]
    [TestCase("same", 7, 2, 3, 1, 3)]
    [TestCase("same", 5, 3, 1, 4, 5)]
    [TestCase("causal", 50, 2, 1, 8, 50)]  // WaveNet layers keep the length
    [TestCase("causal", 50, 4, 2, 1, 25)]
    [TestCase("causal", 7, 3, 3, 1, 3)]
    public void Conv1D_OutputLength(string padding, int length, int kernel, int stride, int dilation, int expected)
    {
        var conv = new Conv1D(3, kernel, stride, padding, dilation);
        conv.Build([null, 2]);
        Assert.That(conv.ComputeOutputShape([length, 2]), Is.EqualTo(new int?[] { expected, 3 }));
        Assert.That(conv.ComputeOutputShape([null, 2]), Is.EqualTo(new int?[] { null, 3 }));
        var y = conv.Call(Tensor.Zeros(new Shape(2, length, 2)));
        Assert.That(y.Shape, Is.EqualTo(new Shape(2, expected, 3)));
        // Keras's formulas.
        int formula = padding switch
        {
            "valid" => (length - dilation * (kernel - 1) - 1) / stride + 1,
            "same" => (length + stride - 1) / stride,
            _ => (length - 1) / stride + 1,
        };
        Assert.That(formula, Is.EqualTo(expected));
    }

    [Test]
    public void Conv1D_InputTooShortForValid_IsAClearError()
    {
        var conv = new Conv1D(2, 4);
        conv.Build([null, 1]);
        var ex = Assert.Catch<ArgumentException>(() => conv.Call(Tensor.Zeros(new Shape(1, 3, 1))));
        Assert.That(ex!.Message, Does.Contain("too short").Or.Contain("length"));
        Assert.Throws<ArgumentException>(() => _ = new Conv1D(2, 2, strides: 2, dilationRate: 2));
        Assert.Throws<ArgumentException>(() => _ = new Conv1D(2, 2, padding: "full"));
    }

    private static readonly object[] ConvForwardCases = BuildConvCases();

    private static object[] BuildConvCases()
    {
        var list = new List<object>();
        foreach (var padding in new[] { "valid", "same", "causal" })
            foreach (int k in new[] { 1, 2, 3, 4 })
                foreach (var (s, d) in new[] { (1, 1), (1, 2), (1, 4), (2, 1), (3, 1) })
                    list.Add(new object[] { padding, k, s, d });
        return list.ToArray();
    }

    [TestCaseSource(nameof(ConvForwardCases))]
    public void Conv1D_Float64_MatchesTheKerasFormula(string padding, int k, int stride, int dilation)
    {
        const int batch = 2, length = 14, cin = 2, filters = 3;
        var rng = new NumPyRandomState(17);
        var conv = new Conv1D(filters, k, stride, padding, dilation, activation: "tanh");
        conv.Build([null, cin], DType.Float64, rng);
        var bias = rng.Randn(filters);
        conv.SetWeights(conv.Kernel.Value, Tensor.FromArray(bias, filters));
        var kernel = conv.Kernel.Value.ToDoubleArray();
        var x = rng.Randn(batch, length, cin);
        var y = conv.Call(Tensor.FromArray(x, batch, length, cin));

        int eff = dilation * (k - 1);
        int lout, left;
        switch (padding)
        {
            case "valid": lout = (length - eff - 1) / stride + 1; left = 0; break;
            case "same":
                lout = (length + stride - 1) / stride;
                left = Math.Max((lout - 1) * stride + eff + 1 - length, 0) / 2;
                break;
            default: lout = (length - 1) / stride + 1; left = eff; break;
        }
        Assert.That(y.Shape, Is.EqualTo(new Shape(batch, lout, filters)));
        var got = y.ToDoubleArray();
        for (int bi = 0; bi < batch; bi++)
            for (int j = 0; j < lout; j++)
                for (int f = 0; f < filters; f++)
                {
                    double s = bias[f];
                    for (int i = 0; i < k; i++)
                    {
                        int t = j * stride + i * dilation - left;   // index into the unpadded input
                        if (t < 0 || t >= length) continue;
                        for (int c = 0; c < cin; c++) s += x[(bi * length + t) * cin + c] * kernel[(i * cin + c) * filters + f];
                    }
                    Assert.That(got[(bi * lout + j) * filters + f], Is.EqualTo(Math.Tanh(s)).Within(1e-12), $"b {bi}, j {j}, f {f}");
                }
    }

    // ------------------------------------------------------------------ Dense, TimeDistributed, Flatten

    [Test]
    public void Dense_OnRank3Input_EqualsDenseAtEveryStep()
    {
        var rng = new NumPyRandomState(8);
        var dense = new Dense(4, activation: "tanh");
        dense.Build([null, 3], DType.Float32, rng);
        var x = Tensor.FromArray(rng.Randn(5, 7, 3).Select(v => (float)v).ToArray(), 5, 7, 3);
        var y = dense.Call(x);
        Assert.That(y.Shape, Is.EqualTo(new Shape(5, 7, 4)));
        for (int t = 0; t < 7; t++)
        {
            var step = dense.Call(Tensor.Select(x, 1, t)).ToFloatArray();
            var fromSeq = Tensor.Select(y, 1, t).ToFloatArray();
            Assert.That(fromSeq, Is.EqualTo(step).Within(1e-6f), $"step {t}");
        }
        // And the formula y = act(x·W + b) per element, in double.
        var w = dense.Kernel.Value.ToDoubleArray();
        var xs = x.ToDoubleArray();
        var ys = y.ToDoubleArray();
        for (int r = 0; r < 35; r++)
            for (int j = 0; j < 4; j++)
            {
                double s = 0;
                for (int i = 0; i < 3; i++) s += xs[r * 3 + i] * w[i * 4 + j];
                Assert.That(ys[r * 4 + j], Is.EqualTo(Math.Tanh(s)).Within(1e-6));
            }
    }

    [Test]
    public void TimeDistributedDense_EqualsDenseOnTheSequence()
    {
        var rng = new NumPyRandomState(10);
        var td = new TimeDistributed(new Dense(10));
        td.Build([null, 20], DType.Float32, rng);
        var dense = new Dense(10);
        dense.Build([null, 20]);
        var bias = Tensor.FromArray(rng.Randn(10).Select(v => (float)v).ToArray(), 10);
        td.SetWeights(td.Weights[0].Value, bias);
        dense.SetWeights(td.GetWeights());
        var x = Tensor.FromArray(rng.Randn(3, 50, 20).Select(v => (float)v).ToArray(), 3, 50, 20);
        var a = td.Call(x);
        var b = dense.Call(x);
        Assert.That(a.Shape, Is.EqualTo(new Shape(3, 50, 10)));
        Assert.That(a.ToFloatArray(), Is.EqualTo(b.ToFloatArray()).Within(1e-6f));
        Assert.That(td.ComputeOutputShape([null, 20]), Is.EqualTo(new int?[] { null, 10 }));
        Assert.That(td.Weights.Select(p => p.Name), Is.EqualTo(new[] { "kernel", "bias" }));
    }

    [Test]
    public void TimeDistributed_RejectsInputWithoutATimeAxis()
    {
        var td = new TimeDistributed(new Dense(2));
        td.Build([null, 3]);
        Assert.Throws<ShapeMismatchException>(() => td.Call(Tensor.Zeros(new Shape(4, 3))));
    }

    [Test]
    public void Flatten_IsRowMajor_IndexTimesFeaturesPlusFeature()
    {
        const int b = 2, t = 3, f = 4;
        var x = Enumerable.Range(0, b * t * f).Select(i => (float)i).ToArray();
        var flat = new Flatten(inputShape: [t, f]);
        flat.Build([t, f]);
        var y = flat.Call(Tensor.FromArray(x, b, t, f));
        Assert.That(y.Shape, Is.EqualTo(new Shape(b, t * f)));
        var v = y.ToFloatArray();
        for (int n = 0; n < b; n++)
            for (int ti = 0; ti < t; ti++)
                for (int fi = 0; fi < f; fi++)
                    Assert.That(v[n * t * f + ti * f + fi], Is.EqualTo(x[(n * t + ti) * f + fi]));
        Assert.That(flat.ComputeOutputShape([t, f]), Is.EqualTo(new int?[] { 12 }));
        Assert.That(flat.ComputeOutputShape([null, f]), Is.EqualTo(new int?[] { null }));
    }

    [Test]
    public void Flatten_ThenDense_IsTheLinearModelFormula()
    {
        // The chapter's linear model: y = Σ_t x[t]·W[t] + b.
        var rng = new NumPyRandomState(12);
        var flat = new Flatten(inputShape: [50, 1]);
        var dense = new Dense(1);
        flat.Build([50, 1], DType.Float64, rng);
        dense.Build([50], DType.Float64, rng);
        var x = rng.Randn(3, 50, 1);
        var y = dense.Call(flat.Call(Tensor.FromArray(x, 3, 50, 1))).ToDoubleArray();
        var w = dense.Kernel.Value.ToDoubleArray();
        for (int n = 0; n < 3; n++)
        {
            double s = 0;
            for (int t = 0; t < 50; t++) s += x[n * 50 + t] * w[t];
            Assert.That(y[n], Is.EqualTo(s).Within(1e-12));
        }
    }

    [Test]
    public void Activations_ByName()
    {
        var x = Tensor.FromArray([-2.0, -0.5, 0.0, 0.5, 2.0], 5);
        Assert.That(((Activation)"relu").Apply(x).ToDoubleArray(), Is.EqualTo(new[] { 0, 0, 0, 0.5, 2 }));
        Assert.That(((Activation)"linear").Apply(x).ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()));
        Assert.That(((Activation)"tanh").Apply(x).ToDoubleArray(), Is.EqualTo(x.ToDoubleArray().Select(Math.Tanh)).Within(1e-15));
        Assert.That(((Activation)"sigmoid").Apply(x).ToDoubleArray(), Is.EqualTo(x.ToDoubleArray().Select(v => 1 / (1 + Math.Exp(-v)))).Within(1e-15));
        Assert.Throws<ArgumentException>(() => _ = (Activation)"softsign");
    }
}
