using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Random;
using Rnnx.Tests.TestUtilities;
using LNSimpleRNNCell = Rnnx.Cli.LNSimpleRNNCell;

namespace Rnnx.Tests.Saving;

/// <summary>Small models of every layer type, with weights perturbed so that biases and norms are not at their initial values.</summary>
public static class TestModels
{
    public sealed record Case(string Name, Func<Sequential> Create, int[] InputShape)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Case> All()
    {
        yield return new("dense", () => new Sequential(new Dense(3, "relu", inputShape: [4]), new Dense(2)), [4]);
        yield return new("flatten_dense", () => new Sequential(new Flatten(inputShape: [6, 2]), new Dense(1)), [6, 2]);
        yield return new("input_activation", () => new Sequential(new InputLayer([5, 2]), new ActivationLayer(Activation.Sigmoid), new Dense(3, "tanh")), [5, 2]);
        yield return new("simple_rnn", () => new Sequential(new SimpleRNN(4, returnSequences: true, inputShape: [null, 2]), new SimpleRNN(3), new Dense(1)), [7, 2]);
        yield return new("simple_rnn_backwards_relu", () => new Sequential(new SimpleRNN(3, activation: "relu", goBackwards: true, returnSequences: true, inputShape: [null, 1]), new TimeDistributed(new Dense(2))), [6, 1]);
        yield return new("lstm", () => new Sequential(new LSTM(4, returnSequences: true, inputShape: [null, 1]), new LSTM(3, unitForgetBias: false), new Dense(2)), [6, 1]);
        yield return new("gru", () => new Sequential(new GRU(4, returnSequences: true, inputShape: [null, 1]), new GRU(3, resetAfter: false, useBias: true), new Dense(1)), [6, 1]);
        yield return new("rnn_cells", () => new Sequential(new RNN(new LSTMCell(3), returnSequences: true, inputShape: [null, 2]), new RNN(new GRUCell(2)), new Dense(1)), [5, 2]);
        yield return new("bidirectional", () => new Sequential(new Bidirectional(new LSTM(3, returnSequences: true), inputShape: [null, 2]),
            new Bidirectional(new GRU(2), "ave"), new Dense(1)), [6, 2]);
        yield return new("bidirectional_backward_layer", () => new Sequential(new Bidirectional(new SimpleRNN(3, returnSequences: true), "mul",
            backwardLayer: new SimpleRNN(3, activation: "relu", returnSequences: true, goBackwards: true), inputShape: [null, 1]), new TimeDistributed(new Dense(1))), [5, 1]);
        yield return new("conv1d", () => new Sequential(
            new Conv1D(4, 3, strides: 2, padding: "valid", inputShape: [null, 1]),
            new Conv1D(3, 2, padding: "same", activation: "relu"),
            new Conv1D(2, 2, padding: "causal", dilationRate: 2, useBias: false),
            new TimeDistributed(new Dense(1))), [12, 1]);
        yield return new("pooling_softmax", () => new Sequential(new Conv1D(4, 2, padding: "same", activation: "gelu", inputShape: [null, 2]),
            new MaxPooling1D(2, padding: "same"), new AveragePooling1D(2, strides: 1), new GlobalMaxPooling1D(), new Dense(3, "softmax")), [9, 2]);
        yield return new("shape_layers", () => new Sequential(new Permute([2, 1], inputShape: [4, 3]), new Reshape([2, 6]),
            new GlobalAveragePooling1D(), new Dense(2, "swish")), [4, 3]);
        yield return new("layer_norm", () => new Sequential(new Dense(4, inputShape: [null, 3]), new LayerNormalization(epsilon: 1e-2), new Dense(2)), [5, 3]);
        yield return new("ln_rnn_custom_cell", () => new Sequential(
            new RNN(new LNSimpleRNNCell(4), returnSequences: true, inputShape: [null, 1]),
            new RNN(new LNSimpleRNNCell(3, Activation.Relu)),
            new Dense(2)), [6, 1]);
        yield return new("dropout_layers", () => new Sequential(new Dense(4, inputShape: [null, 3]), new Dropout(0.25, noiseShape: [null, 1, null], seed: 9),
            new SpatialDropout1D(0.125), new GaussianNoise(0.5), new Dense(2)), [5, 3]);
        yield return new("float64", () => Float64(new Sequential(new GRU(3, returnSequences: true, inputShape: [null, 1]), new TimeDistributed(new Dense(2)))), [5, 1]);
    }

    private static Sequential Float64(Sequential m)
    {
        m.Build(null, DType.Float64);
        return m;
    }

    /// <summary>Builds the model (seeded) and adds small seeded noise to every weight.</summary>
    public static Sequential Build(Case c, int seed = 1)
    {
        var m = c.Create();
        m.Seed = seed;
        if (!m.IsBuilt) m.Build();
        Perturb(m, (uint)seed);
        return m;
    }

    public static void Perturb(Model m, uint seed)
    {
        var rng = new NumPyRandomState(seed + 1000);
        foreach (var (_, p) in m.NamedWeights())
        {
            var noise = rng.Randn(p.Size);
            if (p.DType == DType.Float32)
            {
                var s = p.AsSpan<float>();
                for (int i = 0; i < s.Length; i++) s[i] += (float)(0.1 * noise[i]);
            }
            else
            {
                var s = p.AsSpan<double>();
                for (int i = 0; i < s.Length; i++) s[i] += 0.1 * noise[i];
            }
        }
    }

    public static Tensor Input(int[] shapeWithoutBatch, int batch, DType dtype, uint seed = 7)
    {
        var rng = new NumPyRandomState(seed);
        int[] shape = [batch, .. shapeWithoutBatch];
        var v = rng.Rand(shape.Aggregate(1, (a, b) => a * b));
        var t = Tensor.FromArray(v, shape);
        return dtype == DType.Float64 ? t : t.Copy(DType.Float32);
    }

    public static double[][] Snapshot(Model m) => m.NamedWeights().Select(w => w.Parameter.Value.ToDoubleArray()).ToArray();

    public static void AssertSame(double[][] a, double[][] b, string what)
    {
        Assert.That(a.Length, Is.EqualTo(b.Length), what);
        for (int i = 0; i < a.Length; i++)
            Assert.That(a[i].Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(b[i].Select(BitConverter.DoubleToInt64Bits)), $"{what}: weight {i}");
    }

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "rnnx-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>A functional model: a (6, 1) series named "series" and a (2,) vector "statics" in; outputs "out_a" (2) and "out_b" (1).</summary>
    public static Model SeriesAndStatic(int seed = 4)
    {
        var series = new Input([6, 1], name: "series");
        var statics = new Input([2], name: "statics");
        var merged = new Concatenate().ApplyMany(new LSTM(3).Apply(series), statics)[0];
        var hidden = new Dense(4, activation: Activation.Tanh).Apply(merged);
        var a = new Dense(2, name: "out_a").Apply(hidden);
        var b = new Dense(1, name: "out_b").Apply(hidden);
        return new Model([series, statics], [a, b], name: "two_by_two", seed: seed);
    }

    /// <summary><paramref name="n"/> samples for <see cref="SeriesAndStatic"/>: inputs (series, statics), targets (out_a, out_b), uniform in [−1, 1).</summary>
    public static (Tensor[] X, Tensor[] Y) SeriesAndStaticData(int n, uint seed, DType dtype = DType.Float32)
    {
        var r = new RandomTensors(seed);
        Tensor T(params int[] shape) { var t = r.Uniform(new Shape(shape), -1, 1); return dtype == DType.Float64 ? t : t.Copy(DType.Float32); }
        return ([T(n, 6, 1), T(n, 2)], [T(n, 2), T(n, 1)]);
    }
}
