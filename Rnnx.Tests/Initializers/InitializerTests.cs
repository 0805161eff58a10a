using Rnnx.Initializers;
using Rnnx.Layers;
using Rnnx.Random;

namespace Rnnx.Tests.Initializers;

/// <summary>
/// Initializers against Keras's (keras-team/keras at 3422977a, keras/src/initializers/random_initializers.py: VarianceScaling with
/// compute_fans, OrthogonalInitializer; the unit_forget_bias slice from keras/src/layers/rnn/lstm.py): glorot_uniform limits from the stored (packed, receptive-field) shape,
/// orthogonal recurrent kernels (thin QR with sign-fixed columns, transposed when rows &lt; cols), and the LSTM
/// unit_forget_bias slice.
/// </summary>
public class InitializerTests
{
    // Every kernel of the chapter's models: stored shape → limit sqrt(6 / (fan_in + fan_out)), fans by compute_fans's rule
    // (rank 2: (in, out); conv (k, in, out): in·k and out·k), the limits worked out by hand to 6 decimals.
    private static readonly object[] GlorotTable =
    [
        new object[] { new[] { 50, 1 }, 0.342997 },      // Dense(1) after Flatten(50×1)
        new object[] { new[] { 50, 10 }, 0.316228 },     // Dense(10) after Flatten
        new object[] { new[] { 1, 1 }, 1.732051 },       // SimpleRNN(1) kernel, in=1
        new object[] { new[] { 1, 20 }, 0.534522 },      // SimpleRNN(20) kernel, in=1
        new object[] { new[] { 20, 20 }, 0.387298 },     // SimpleRNN(20) kernel, in=20
        new object[] { new[] { 20, 1 }, 0.534522 },      // SimpleRNN(1) kernel in=20; Dense(1) after SimpleRNN(20)
        new object[] { new[] { 20, 10 }, 0.447214 },     // (TimeDistributed) Dense(10), in=20
        new object[] { new[] { 1, 80 }, 0.272166 },      // LSTM(20) kernel, in=1
        new object[] { new[] { 20, 80 }, 0.244949 },     // LSTM(20) kernel, in=20
        new object[] { new[] { 1, 60 }, 0.313625 },      // GRU(20) kernel, in=1
        new object[] { new[] { 20, 60 }, 0.273861 },     // GRU(20) kernel, in=20
        new object[] { new[] { 4, 1, 20 }, 0.267261 },   // Conv1D(20, k=4), in=1
        new object[] { new[] { 2, 1, 20 }, 0.377964 },   // Conv1D(20, k=2), in=1
        new object[] { new[] { 2, 20, 20 }, 0.273861 },  // Conv1D(20, k=2), in=20
        new object[] { new[] { 1, 20, 10 }, 0.447214 },  // Conv1D(10, k=1), in=20
    ];

    [TestCaseSource(nameof(GlorotTable))]
    public void GlorotUniform_ValuesLieWithinTheTableLimit(int[] shape, double limit)
    {
        var (fanIn, fanOut) = Initializer.Fans(shape);
        Assert.That(Math.Sqrt(6.0 / (fanIn + fanOut)), Is.EqualTo(limit).Within(1e-6), "limit from the fans");

        int n = shape.Aggregate(1, (a, b) => a * b);
        var values = new double[n];
        Initializer.GlorotUniform.Fill(values, shape, new NumPyRandomState(7));
        Assert.That(values.All(v => v >= -limit - 1e-6 && v < limit + 1e-6), Is.True, $"max |v| = {values.Max(Math.Abs)}");
        if (n >= 20)
        {
            // Uniform on [-limit, limit): the extremes of 20+ draws come close to the limit (it is not a smaller range).
            Assert.That(values.Max(Math.Abs), Is.GreaterThan(0.75 * limit));
        }
    }

    [Test]
    public void GlorotUniform_FansUseThePackedAndReceptiveFieldShape()
    {
        Assert.That(Initializer.Fans([20, 80]), Is.EqualTo((20.0, 80.0)), "LSTM kernel: fan_out is 4u");
        Assert.That(Initializer.Fans([4, 1, 20]), Is.EqualTo((4.0, 80.0)), "Conv1D: receptive field multiplies both fans");
        Assert.That(Initializer.Fans([2, 20, 20]), Is.EqualTo((40.0, 40.0)));
        Assert.That(Initializer.Fans([7]), Is.EqualTo((7.0, 7.0)), "rank 1");
    }

    [Test]
    public void GlorotUniform_LargeShape_HasUniformMeanAndVariance()
    {
        int[] shape = [200, 300];
        double limit = Math.Sqrt(6.0 / 500);
        var v = new double[60000];
        Initializer.GlorotUniform.Fill(v, shape, new NumPyRandomState(123));
        double mean = v.Average();
        double variance = v.Select(x => (x - mean) * (x - mean)).Average();
        double expectedVar = limit * limit / 3;   // variance of U(-l, l)
        // Standard error of the mean: sqrt(var / n) ≈ 0.00028; allow 5 sigma.
        Assert.That(mean, Is.EqualTo(0).Within(5 * Math.Sqrt(expectedVar / v.Length)));
        Assert.That(variance, Is.EqualTo(expectedVar).Within(0.02 * expectedVar));
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(-limit));
        Assert.That(v.Max(), Is.LessThan(limit));
        // Roughly flat: each tenth of the range holds about a tenth of the values.
        var counts = new int[10];
        foreach (var x in v) counts[Math.Min(9, (int)((x + limit) / (2 * limit) * 10))]++;
        Assert.That(counts, Has.All.InRange(5400, 6600));
    }

    [Test]
    public void GlorotUniform_SameSeedIsBitIdentical_DifferentSeedDiffers()
    {
        int[] shape = [20, 80];
        double[] a = new double[1600], b = new double[1600], c = new double[1600];
        Initializer.GlorotUniform.Fill(a, shape, new NumPyRandomState(42));
        Initializer.GlorotUniform.Fill(b, shape, new NumPyRandomState(42));
        Initializer.GlorotUniform.Fill(c, shape, new NumPyRandomState(43));
        Assert.That(b.Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(a.Select(BitConverter.DoubleToInt64Bits)));
        Assert.That(c.Zip(a).Count(p => p.First == p.Second), Is.EqualTo(0));
    }

    [Test]
    public void Layers_SameSeed_GiveBitIdenticalWeightsInFloat32AndDifferentWeightsForAnotherSeed()
    {
        static float[][] Build(uint seed)
        {
            var layer = new LSTM(20);
            layer.Build([null, 1], DType.Float32, new NumPyRandomState(seed));
            return layer.Weights.Select(p => p.AsSpan<float>().ToArray()).ToArray();
        }
        var a = Build(5);
        var b = Build(5);
        var c = Build(6);
        for (int i = 0; i < a.Length; i++)
            Assert.That(b[i].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(a[i].Select(BitConverter.SingleToInt32Bits)), $"weight {i}");
        Assert.That(c[0], Is.Not.EqualTo(a[0]));
        Assert.That(c[1], Is.Not.EqualTo(a[1]));
    }

    [Test]
    public void Float32AndFloat64Weights_AreTheSameDrawsRounded()
    {
        var l32 = new Conv1D(20, 4, 2);
        var l64 = new Conv1D(20, 4, 2);
        l32.Build([null, 1], DType.Float32, new NumPyRandomState(3));
        l64.Build([null, 1], DType.Float64, new NumPyRandomState(3));
        var k64 = l64.Kernel.AsSpan<double>().ToArray();
        Assert.That(l32.Kernel.AsSpan<float>().ToArray(), Is.EqualTo(k64.Select(v => (float)v).ToArray()));
        Assert.That(k64.All(v => Math.Abs(v) <= 0.267261 + 1e-6), Is.True);
    }

    // ------------------------------------------------------------------ orthogonal

    [TestCase(20, 20)]
    [TestCase(20, 80)]   // LSTM(20) recurrent kernel
    [TestCase(20, 60)]   // GRU(20) recurrent kernel
    [TestCase(80, 20)]
    [TestCase(5, 3)]
    [TestCase(3, 7)]
    public void Orthogonal_IsOrthonormalAlongTheSmallerDimension(int rows, int cols)
    {
        var q = new double[rows * cols];
        Initializer.Orthogonal.Fill(q, [rows, cols], new NumPyRandomState(11));
        // rows <= cols: Q·Qᵀ = I (orthonormal rows); rows >= cols: Qᵀ·Q = I (orthonormal columns).
        int k = Math.Min(rows, cols), inner = Math.Max(rows, cols);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double s = 0;
                for (int t = 0; t < inner; t++)
                    s += rows <= cols ? q[i * cols + t] * q[j * cols + t] : q[t * cols + i] * q[t * cols + j];
                Assert.That(s, Is.EqualTo(i == j ? 1.0 : 0.0).Within(1e-12), $"({i}, {j})");
            }
    }

    [TestCase(20, 20)]
    [TestCase(20, 80)]
    [TestCase(80, 20)]
    [TestCase(1, 1)]
    public void Orthogonal_IsTheSignFixedQOfTheNormalDraw(int rows, int cols)
    {
        // Keras: A (max, min) standard normal, A = QR, Q's column j times sign(R[j, j]) (so R has a positive
        // diagonal), transposed when rows < cols. Equivalently: R = Qᵀ·A is upper triangular with a positive diagonal.
        int m = Math.Max(rows, cols), n = Math.Min(rows, cols);
        var a = new double[m * n];
        new NumPyRandomState(21).StandardNormal(a);
        var values = new double[rows * cols];
        Initializer.Orthogonal.Fill(values, [rows, cols], new NumPyRandomState(21));
        double Q(int i, int j) => rows >= cols ? values[i * cols + j] : values[j * cols + i];   // Q is (m, n)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double r = 0;
                for (int t = 0; t < m; t++) r += Q(t, i) * a[t * n + j];
                if (i > j) Assert.That(r, Is.EqualTo(0).Within(1e-10), $"R[{i}, {j}] below the diagonal");
                if (i == j) Assert.That(r, Is.GreaterThan(0), $"R[{i}, {i}]");
            }
    }

    [Test]
    public void Orthogonal_OneByOne_IsPlusOrMinusOneWithTheSignOfTheDraw()
    {
        for (uint seed = 0; seed < 12; seed++)
        {
            var v = new double[1];
            Initializer.Orthogonal.Fill(v, [1, 1], new NumPyRandomState(seed));
            double draw = new NumPyRandomState(seed).StandardNormal();
            Assert.That(v[0], Is.EqualTo(Math.Sign(draw)), $"seed {seed}");
        }
    }

    [Test]
    public void Orthogonal_InLayers_SimpleRnnLstmGruRecurrentKernels()
    {
        var rng = new NumPyRandomState(9);
        var simple = new SimpleRNN(20);
        simple.Build([null, 1], DType.Float64, rng);
        var lstm = new LSTM(20);
        lstm.Build([null, 20], DType.Float64, rng);
        var gru = new GRU(20);
        gru.Build([null, 20], DType.Float64, rng);
        var one = new SimpleRNN(1);
        one.Build([null, 20], DType.Float64, rng);
        foreach (var (layer, cols) in new (RNN, int)[] { (simple, 20), (lstm, 80), (gru, 60), (one, 1) })
        {
            var r = layer.Weights[1];
            Assert.That(r.Name, Is.EqualTo("recurrent_kernel"));
            int u = r.Shape[0];
            Assert.That(r.Shape, Is.EqualTo(new Shape(u, cols)));
            var q = r.AsSpan<double>().ToArray();
            for (int i = 0; i < u; i++)
                for (int j = 0; j < u; j++)
                {
                    double s = 0;
                    for (int t = 0; t < cols; t++) s += q[i * cols + t] * q[j * cols + t];
                    Assert.That(s, Is.EqualTo(i == j ? 1.0 : 0.0).Within(1e-12), $"{layer.GetType().Name} R·Rᵀ ({i}, {j})");
                }
        }
        Assert.That(Math.Abs(one.Weights[1].AsSpan<double>()[0]), Is.EqualTo(1.0));
    }

    // ------------------------------------------------------------------ constants and biases

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void LstmBias_UnitForgetBias_SetsTheForgetSliceToOnes(DType dtype)
    {
        var lstm = new LSTM(20);
        lstm.Build([null, 1], dtype, new NumPyRandomState(1));
        var bias = lstm.Weights[2];
        Assert.That(bias.Name, Is.EqualTo("bias"));
        Assert.That(bias.Shape, Is.EqualTo(new Shape(80)));
        var b = bias.Value.ToDoubleArray();
        Assert.That(b[..20], Has.All.EqualTo(0.0), "input gate");
        Assert.That(b[20..40], Has.All.EqualTo(1.0), "forget gate");
        Assert.That(b[40..], Has.All.EqualTo(0.0), "cell candidate and output gate");

        var plain = new LSTM(20, unitForgetBias: false);
        plain.Build([null, 1], dtype, new NumPyRandomState(1));
        Assert.That(plain.Weights[2].Value.ToDoubleArray(), Has.All.EqualTo(0.0));
    }

    [Test]
    public void ZeroBiasesAndLayerNormalizationConstants()
    {
        var rng = new NumPyRandomState(2);
        var dense = new Dense(10);
        dense.Build([20], DType.Float32, rng);
        var conv = new Conv1D(20, 2, padding: "causal");
        conv.Build([null, 1], DType.Float32, rng);
        var gru = new GRU(20);
        gru.Build([null, 1], DType.Float32, rng);
        var ln = new LayerNormalization();
        ln.Build([20], DType.Float32, rng);
        Assert.That(dense.Bias!.Value.ToDoubleArray(), Has.All.EqualTo(0.0));
        Assert.That(conv.Bias!.Value.ToDoubleArray(), Has.All.EqualTo(0.0));
        Assert.That(gru.Weights[2].Shape, Is.EqualTo(new Shape(2, 60)), "GRU reset_after bias (input row, recurrent row)");
        Assert.That(gru.Weights[2].Value.ToDoubleArray(), Has.All.EqualTo(0.0));
        Assert.That(ln.Gamma.Value.ToDoubleArray(), Has.All.EqualTo(1.0));
        Assert.That(ln.Beta.Value.ToDoubleArray(), Has.All.EqualTo(0.0));
    }
}
