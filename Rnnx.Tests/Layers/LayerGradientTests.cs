using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Random;
using LNSimpleRNNCell = Rnnx.Cli.LNSimpleRNNCell;

namespace Rnnx.Tests.Layers;

/// <summary>
/// Float64 gradient checks: the tape's gradients of L = Σ layer(x) ⊙ R (R a fixed random projection) with respect
/// to the input and every weight, against central differences (h = 1e-6; |a − n| ≤ 1e-8 + 1e-6·max(|a|, |n|)).
/// </summary>
public class LayerGradientTests
{
    /// <summary>
    /// Checks d(Σ f(x) ⊙ R)/dx and /dθ for every weight θ of <paramref name="layer"/> (already built in float64).
    /// </summary>
    private static void CheckGradients(Layer layer, int[] xShape, uint seed, Func<Tensor, Tensor>? forward = null) =>
        CheckGradients(layer.Weights, xShape, seed, forward ?? (t => layer.Call(t, training: true)));

    /// <summary>
    /// Checks the gradients of <paramref name="objective"/>(forward(x)) (default Σ forward(x) ⊙ R) with respect to x
    /// and <paramref name="weights"/>, with the public <see cref="GradientChecker"/>.
    /// </summary>
    private static void CheckGradients(IReadOnlyList<Parameter> weights, int[] xShape, uint seed, Func<Tensor, Tensor> forward,
        Func<Tensor, Tensor>? objective = null)
    {
        Assert.That(weights.All(p => p.DType == DType.Float64), "the weights must be float64");
        var x = Tensor.FromArray(new NumPyRandomState(seed).Randn(xShape), xShape);
        Func<Tensor> f = objective is null ? () => forward(x) : () => objective(forward(x));
        var result = GradientChecker.Check(f, GradientCheckOptions.Default with { Seed = seed }, [x, .. weights.Select(p => p.Value)]);
        Assert.That(result.Elements, Is.EqualTo(x.Size + weights.Sum(p => p.Size)), "every input and weight element compared");
    }

    /// <summary>Sets every weight to a random value (so zero biases, unit gammas etc. do not hide terms).</summary>
    private static void Randomize(Layer layer, uint seed, double scale = 0.5) => Randomize(layer.Weights, seed, scale);

    private static void Randomize(IReadOnlyList<Parameter> weights, uint seed, double scale = 0.5)
    {
        var rng = new NumPyRandomState(seed);
        foreach (var p in weights)
        {
            var s = p.AsSpan<double>();
            for (int i = 0; i < s.Length; i++) s[i] = scale * rng.StandardNormal();
        }
    }

    // ------------------------------------------------------------------ Dense

    [TestCase("linear")]
    [TestCase("tanh")]
    [TestCase("sigmoid")]
    [TestCase("relu")]
    public void Dense_EachActivation(string activation)
    {
        var dense = new Dense(4, activation: activation);
        dense.Build([5], DType.Float64, new NumPyRandomState(1));
        Randomize(dense, 2);
        CheckGradients(dense, [3, 5], 3);
    }

    [Test]
    public void Dense_CustomActivationDelegate()
    {
        var swish = new Activation("swish", x => x * Tensor.Sigmoid(x));
        var dense = new Dense(3, activation: swish);
        dense.Build([4], DType.Float64, new NumPyRandomState(1));
        Randomize(dense, 4);
        CheckGradients(dense, [2, 4], 5);
    }

    [TestCase("linear")]
    [TestCase("tanh")]
    public void Dense_OnRank3Input(string activation)
    {
        var dense = new Dense(3, activation: activation);
        dense.Build([null, 4], DType.Float64, new NumPyRandomState(1));
        Randomize(dense, 6);
        CheckGradients(dense, [2, 5, 4], 7);
    }

    [Test]
    public void Dense_WithoutBias()
    {
        var dense = new Dense(3, activation: "sigmoid", useBias: false);
        dense.Build([4], DType.Float64, new NumPyRandomState(1));
        Assert.That(dense.Weights, Has.Count.EqualTo(1));
        CheckGradients(dense, [3, 4], 8);
    }

    // ------------------------------------------------------------------ TimeDistributed, Flatten, LayerNormalization

    [TestCase("linear")]
    [TestCase("tanh")]
    public void TimeDistributedDense(string activation)
    {
        var td = new TimeDistributed(new Dense(3, activation: activation));
        td.Build([null, 4], DType.Float64, new NumPyRandomState(1));
        Randomize(td, 9);
        CheckGradients(td, [2, 6, 4], 10);
    }

    [Test]
    public void FlattenThenDense()
    {
        var flat = new Flatten(inputShape: [5, 2]);
        var dense = new Dense(2, activation: "tanh");
        flat.Build([5, 2], DType.Float64);
        dense.Build([10], DType.Float64, new NumPyRandomState(1));
        Randomize(dense, 11);
        CheckGradients(dense, [3, 5, 2], 12, x => dense.Call(flat.Call(x)));
    }

    [TestCase(3, 0, 5)]
    [TestCase(2, 4, 6)]
    [TestCase(4, 0, 1)]   // a single feature: the normalized value is 0 and only β matters
    public void LayerNormalization(int batch, int time, int features)
    {
        int[] shape = time > 0 ? [batch, time, features] : [batch, features];
        var ln = new LayerNormalization();
        ln.Build(time > 0 ? [time, features] : [features], DType.Float64, new NumPyRandomState(1));
        Randomize(ln, 13, scale: 1.0);
        CheckGradients(ln, shape, 14);
    }

    [Test]
    public void LayerNormalization_TinyVarianceRows()
    {
        // Rows whose variance is far below epsilon: the ε inside the root keeps the gradient finite and smooth.
        var ln = new LayerNormalization();
        ln.Build([4], DType.Float64, new NumPyRandomState(1));
        Randomize(ln, 15, scale: 1.0);
        CheckGradients(ln, [3, 4], 16, x => ln.Call(x * 1e-2));
    }

    // ------------------------------------------------------------------ Conv1D

    private static readonly object[] ConvCases = BuildConvCases();

    private static object[] BuildConvCases()
    {
        var list = new List<object>();
        foreach (var padding in new[] { "valid", "same", "causal" })
            foreach (int k in new[] { 1, 2, 3, 4 })
                foreach (var (s, d) in new[] { (1, 1), (1, 2), (1, 4), (2, 1) })
                    list.Add(new object[] { padding, k, s, d });
        return list.ToArray();
    }

    [TestCaseSource(nameof(ConvCases))]
    public void Conv1D(string padding, int kernelSize, int strides, int dilation)
    {
        var conv = new Conv1D(3, kernelSize, strides, padding, dilation, activation: "tanh");
        conv.Build([null, 2], DType.Float64, new NumPyRandomState(1));
        Randomize(conv, 17);
        CheckGradients(conv, [2, 13, 2], 18);
    }

    [TestCase("linear")]
    [TestCase("relu")]
    [TestCase("sigmoid")]
    public void Conv1D_Activations(string activation)
    {
        var conv = new Conv1D(4, 2, padding: "causal", dilationRate: 2, activation: activation);
        conv.Build([null, 3], DType.Float64, new NumPyRandomState(1));
        Randomize(conv, 19);
        CheckGradients(conv, [2, 9, 3], 20);
    }

    [Test]
    public void Conv1D_WaveNetPair_CausalReluThenPointwise()
    {
        var c1 = new Conv1D(4, 2, padding: "causal", dilationRate: 4, activation: "relu");
        var c2 = new Conv1D(2, 1);
        c1.Build([null, 1], DType.Float64, new NumPyRandomState(1));
        c2.Build([null, 4], DType.Float64, new NumPyRandomState(2));
        Randomize(c1, 21);
        Randomize(c2, 22);
        // Check c1's weights through the pair, and c2's weights on its own.
        CheckGradients(c1, [2, 10, 1], 23, x => c2.Call(c1.Call(x)));
        CheckGradients(c2, [2, 10, 4], 24);
    }

    // ------------------------------------------------------------------ the LN cell inside RNN (composed path)

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void LNSimpleRNNCell_InsideRNN(bool returnSequences, bool goBackwards)
    {
        var rnn = new RNN(new LNSimpleRNNCell(4), returnSequences: returnSequences, goBackwards: goBackwards);
        rnn.Build([null, 3], DType.Float64, new NumPyRandomState(1));
        Assert.That(rnn.Weights.Select(p => p.Name), Is.EqualTo(new[] { "kernel", "recurrent_kernel", "bias", "gamma", "beta" }));
        Randomize(rnn, 25);
        CheckGradients(rnn, [2, 5, 3], 26);
    }

    [Test]
    public void LNSimpleRNN_Stacked_WithTimeDistributedHead()
    {
        var r1 = new RNN(new LNSimpleRNNCell(3), returnSequences: true);
        var r2 = new RNN(new LNSimpleRNNCell(3), returnSequences: true);
        var td = new TimeDistributed(new Dense(2));
        r1.Build([null, 1], DType.Float64, new NumPyRandomState(1));
        r2.Build([null, 3], DType.Float64, new NumPyRandomState(2));
        td.Build([null, 3], DType.Float64, new NumPyRandomState(3));
        Randomize(r1, 27);
        Randomize(r2, 28);
        Randomize(td, 29);
        Func<Tensor, Tensor> model = x => td.Call(r2.Call(r1.Call(x)));
        CheckGradients(r1, [2, 6, 1], 30, model);
        CheckGradients(r2, [2, 6, 1], 31, x => model(x));
    }

    [Test]
    public void LNSimpleRNNCell_MatchesTheStepFormula()
    {
        // h_t = tanh(LN((x_t·W + b) + h_{t−1}·R)), output = state = h_t.
        var cell = new LNSimpleRNNCell(3);
        var rnn = new RNN(cell, returnSequences: true);
        rnn.Build([null, 2], DType.Float64, new NumPyRandomState(1));
        Randomize(rnn, 32);
        var rng = new NumPyRandomState(33);
        var x = rng.Randn(1, 4, 2);
        var y = rnn.Call(Tensor.FromArray(x, 1, 4, 2)).ToDoubleArray();
        var w = rnn.Weights.Select(p => p.Value.ToDoubleArray()).ToArray();
        double[] k = w[0], rk = w[1], b = w[2], gamma = w[3], beta = w[4];
        var h = new double[3];
        for (int t = 0; t < 4; t++)
        {
            var a = new double[3];
            for (int j = 0; j < 3; j++)
            {
                a[j] = b[j];
                for (int i = 0; i < 2; i++) a[j] += x[t * 2 + i] * k[i * 3 + j];
                for (int i = 0; i < 3; i++) a[j] += h[i] * rk[i * 3 + j];
            }
            double mu = a.Average(), var = a.Select(v => (v - mu) * (v - mu)).Average();
            for (int j = 0; j < 3; j++) h[j] = Math.Tanh(gamma[j] * (a[j] - mu) / Math.Sqrt(var + 1e-3) + beta[j]);
            for (int j = 0; j < 3; j++) Assert.That(y[t * 3 + j], Is.EqualTo(h[j]).Within(1e-12), $"t {t}, unit {j}");
        }
    }

    // ------------------------------------------------------------------ whole float64 models with the MSE loss

    [Test]
    public void Float64Sequential_SmallWaveNet_WithMseLoss()
    {
        var layers = new List<Layer> { new InputLayer([null, 1]) };
        foreach (int rate in new[] { 1, 2, 4 })
            layers.Add(new Conv1D(3, 2, padding: "causal", activation: "relu", dilationRate: rate));
        layers.Add(new Conv1D(2, 1));
        var model = new Sequential(layers, "wavenet64", seed: 5);
        model.Build(dtype: DType.Float64);
        // Non-zero biases: with zero biases, a causal window that sees only padding and inactive ReLUs sits exactly
        // on the ReLU kink, where central differences are meaningless.
        Randomize(model.Weights, 38);
        var rng = new NumPyRandomState(34);
        var target = Tensor.FromArray(rng.Randn(2, 9, 2), 2, 9, 2);
        CheckGradients(model.Weights, [2, 9, 1], 35, x => model.Call(x, training: true),
            y => Loss.MeanSquaredError.Compute(target, y));
    }

    [Test]
    public void Float64Sequential_LnRnnWithTimeDistributedHead_WithMseLoss()
    {
        var model = new Sequential(
            [new RNN(new LNSimpleRNNCell(3), returnSequences: true, inputShape: [null, 1]),
             new RNN(new LNSimpleRNNCell(3), returnSequences: true), new TimeDistributed(new Dense(2))], "ln64", seed: 6);
        model.Build(dtype: DType.Float64);
        var rng = new NumPyRandomState(36);
        var target = Tensor.FromArray(rng.Randn(2, 5, 2), 2, 5, 2);
        CheckGradients(model.Weights, [2, 5, 1], 37, x => model.Call(x, training: true),
            y => Loss.MeanSquaredError.Compute(target, y));
    }
}
