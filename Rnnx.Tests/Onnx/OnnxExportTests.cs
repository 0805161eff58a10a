using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Onnx;
using Rnnx.Tests.Saving;
using LNSimpleRNNCell = Rnnx.Cli.LNSimpleRNNCell;

namespace Rnnx.Tests.Onnx;

/// <summary>Every chapter architecture, exported to ONNX and run in ONNX Runtime, matches Predict within 1e-5.</summary>
[TestFixture]
public sealed class OnnxExportTests
{
    public sealed record Arch(string Name, Func<Sequential> Create, int[] Lengths)
    {
        public override string ToString() => Name;
    }

    private static Sequential WaveNet()
    {
        var layers = new List<Layer> { new InputLayer([null, 1]) };
        foreach (int rate in new[] { 1, 2, 4, 8, 1, 2, 4, 8 })
            layers.Add(new Conv1D(20, 2, padding: "causal", activation: "relu", dilationRate: rate));
        layers.Add(new Conv1D(10, 1));
        return new Sequential(layers);
    }

    public static IEnumerable<Arch> Chapter()
    {
        int[] both = [50, 60];
        yield return new("linear_flatten_dense", () => new Sequential(new Flatten(inputShape: [50, 1]), new Dense(1)), [50]);
        yield return new("simple_rnn_1", () => new Sequential(new SimpleRNN(1, inputShape: [null, 1])), both);
        yield return new("deep_rnn", () => new Sequential(new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(1)), both);
        yield return new("deep_rnn_10", () => new Sequential(new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(10)), both);
        yield return new("s2s_rnn", () => new Sequential(new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20, returnSequences: true), new TimeDistributed(new Dense(10))), both);
        yield return new("lstm", () => new Sequential(new LSTM(20, returnSequences: true, inputShape: [null, 1]), new LSTM(20, returnSequences: true), new TimeDistributed(new Dense(10))), both);
        yield return new("gru", () => new Sequential(new GRU(20, returnSequences: true, inputShape: [null, 1]), new GRU(20, returnSequences: true), new TimeDistributed(new Dense(10))), both);
        yield return new("conv_rnn", () => new Sequential(new Conv1D(20, 4, strides: 2, padding: "valid", inputShape: [null, 1]),
            new GRU(20, returnSequences: true), new GRU(20, returnSequences: true), new TimeDistributed(new Dense(10))), both);
        yield return new("wavenet", WaveNet, both);
        // Beyond the chapter: other settings of the same operators.
        yield return new("gru_reset_before_last_state", () => new Sequential(new GRU(8, resetAfter: false, returnSequences: true, inputShape: [null, 2]), new GRU(5, resetAfter: false), new Dense(3, "sigmoid")), [7, 13]);
        yield return new("backwards_and_activations", () => new Sequential(new SimpleRNN(6, activation: "relu", goBackwards: true, returnSequences: true, inputShape: [null, 2]),
            new LSTM(5, goBackwards: true, returnSequences: true, useBias: false), new GRU(4, goBackwards: true), new Dense(2, "tanh")), [9, 11]);
        yield return new("linear_rnn_cells", () => new Sequential(new RNN(new SimpleRNNCell(4, Activation.Linear), returnSequences: true, inputShape: [null, 1]),
            new RNN(new LSTMCell(3, unitForgetBias: false)), new Dense(1)), [8]);
        yield return new("peephole_lstm", () => new Sequential(new RNN(new PeepholeLSTMCell(5), returnSequences: true, inputShape: [null, 2]),
            new RNN(new PeepholeLSTMCell(4, useBias: false), returnSequences: true, goBackwards: true), new RNN(new PeepholeLSTMCell(3)), new Dense(1)), [9, 12]);
        yield return new("conv_same_layernorm", () => new Sequential(new Conv1D(6, 3, padding: "same", inputShape: [null, 2]), new Conv1D(4, 4, strides: 3, padding: "same", activation: "tanh"),
            new LayerNormalization(), new TimeDistributed(new LayerNormalization()), new ActivationLayer(Activation.Sigmoid), new TimeDistributed(new Dense(2, "relu"))), [10, 11, 12]);
        yield return new("pooling_classifier", () => new Sequential(new Conv1D(8, 3, padding: "same", activation: "relu", inputShape: [null, 2]),
            new MaxPooling1D(2), new AveragePooling1D(3, strides: 2, padding: "same"), new MaxPooling1D(2, strides: 1, padding: "same"),
            new GlobalAveragePooling1D(), new Dense(4, "gelu"), new Dense(3, "softmax")), [12, 17]);
        yield return new("shape_layers_and_activations", () => new Sequential(new Permute([2, 1], inputShape: [6, 4]), new Reshape([-1, 3]),
            new AveragePooling1D(3), new Dense(5, "elu"), new GlobalMaxPooling1D(), new Dense(4, "selu"), new Dense(3, "swish"), new Dense(2, "softplus")), [6]);
        // Bidirectional: one direction="bidirectional" node when both directions share the operator and its settings
        // (activations may differ per direction), else a node per direction; each merge mode after it.
        yield return new("bidirectional_lstm_concat", () => new Sequential(new Bidirectional(new LSTM(5, returnSequences: true), inputShape: [null, 1]),
            new Bidirectional(new LSTM(4)), new Dense(2)), [9, 11]);
        yield return new("bidirectional_merge_modes", () => new Sequential(new Bidirectional(new GRU(4, returnSequences: true), "sum", inputShape: [null, 2]),
            new Bidirectional(new SimpleRNN(3, returnSequences: true), "mul"), new Bidirectional(new GRU(3, resetAfter: false), "ave"), new Dense(1)), [7, 12]);
        yield return new("bidirectional_backward_layers", () => new Sequential(
            new Bidirectional(new LSTM(4, returnSequences: true), backwardLayer: new LSTM(3, useBias: false, returnSequences: true, goBackwards: true), inputShape: [null, 2]),
            new Bidirectional(new SimpleRNN(3, activation: "relu"), "sum", backwardLayer: new SimpleRNN(3, goBackwards: true)), new Dense(1)), [6, 10]);
        // Peephole cells: a node per direction, each with its own P input (one bidirectional node would drop them).
        yield return new("bidirectional_peephole", () => new Sequential(
            new Bidirectional(new RNN(new PeepholeLSTMCell(4), returnSequences: true), inputShape: [null, 2]), new Dense(1)), [6, 10]);
        yield return new("noise_layers_vanish", () => new Sequential(new Dense(4, inputShape: [null, 3]), new Dropout(0.3), new SpatialDropout1D(0.2),
            new GaussianNoise(0.1), new Dense(2), new Dropout(0.5)), [5, 8]);
        yield return new("recurrent_dropout_vanishes", () => new Sequential(new LSTM(6, returnSequences: true, inputShape: [null, 2], dropout: 0.2, recurrentDropout: 0.3),
            new GRU(5, returnSequences: true, recurrentDropout: 0.4), new SimpleRNN(4, dropout: 0.5), new Dense(2)), [7, 9]);
        yield return new("time_distributed_flatten", () => new Sequential(new Conv1D(4, 2, inputShape: [null, 3]), new Dense(6), new TimeDistributed(new Flatten()), new LayerNormalization()), [5, 9]);
    }

    private static Sequential BuildTrainedLike(Arch a)
    {
        var m = a.Create();
        m.Seed = 3;
        m.Build();
        TestModels.Perturb(m, 3);   // non-zero biases, non-unit norms: every weight matters
        return m;
    }

    private static float[] RunOnnx(byte[] model, Tensor x, out int[] shape)
    {
        using var session = new InferenceSession(model);
        var input = new DenseTensor<float>(x.ToFloatArray(), x.Shape.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var y = results.Single(r => r.Name == "output").AsTensor<float>();
        shape = y.Dimensions.ToArray();
        return y.ToArray();
    }

    [TestCaseSource(nameof(Chapter))]
    public void MatchesPredictInOnnxRuntime(Arch a) => AssertMatchesOnnxRuntime(BuildTrainedLike(a), a.Name, a.Lengths);

    /// <summary>The exported model in ONNX Runtime against Predict, within 1e-5, for each length and batches of 1 and 3.</summary>
    private static void AssertMatchesOnnxRuntime(Model m, string name, int[] lengths)
    {
        var onnx = OnnxExporter.Export(m);
        foreach (int steps in lengths)
            foreach (int batch in new[] { 1, 3 })
            {
                var x = TestModels.Input([steps, m.InputShape![1]!.Value], batch, DType.Float32, seed: (uint)(steps * 10 + batch));
                var expected = m.Predict(x);
                var actual = RunOnnx(onnx, x, out var shape);
                Assert.That(shape, Is.EqualTo(expected.Shape.ToArray()), $"{name}: output shape, {steps} steps, batch {batch}");
                var e = expected.ToFloatArray();
                double maxErr = e.Zip(actual, (p, q) => Math.Abs(p - q)).Max();
                TestContext.Out.WriteLine($"{name} steps {steps} batch {batch}: max abs error {maxErr:E2}, max abs value {e.Max(Math.Abs):G3}");
                Assert.That(maxErr, Is.LessThanOrEqualTo(1e-5), $"{name}: max |Δ| over {steps} steps, batch {batch}");
            }
    }

    /// <summary>
    /// Bidirectional is one node with direction "bidirectional" when both directions share the operator, its size and
    /// settings, and a "forward" plus a "reverse" node otherwise (the layer is named "bi" so no tensor name spells a
    /// direction); several outputs are refused naming the layer.
    /// </summary>
    [Test]
    public void BidirectionalIsOneNodeWhereOnnxAllowsIt()
    {
        static string Exported(Bidirectional layer)
        {
            var m = new Sequential(layer);
            m.Build();
            return System.Text.Encoding.Latin1.GetString(OnnxExporter.Export(m));
        }
        var one = Exported(new Bidirectional(new GRU(3, returnSequences: true), "sum", inputShape: [null, 2], name: "bi"));
        Assert.That(one, Does.Contain("bidirectional").And.Not.Contain("reverse"));
        var two = Exported(new Bidirectional(new GRU(3), backwardLayer: new GRU(3, resetAfter: false, goBackwards: true, name: "back"), inputShape: [null, 2], name: "bi"));
        Assert.That(two, Does.Contain("reverse").And.Not.Contain("bidirectional"));

        var pair = new Bidirectional(new LSTM(3), mergeMode: null, name: "pair");
        pair.Build([null, 2]);
        Assert.That(() => pair.ExportOnnx(new OnnxGraph(), "input", [null, 2], "pair"), Throws.TypeOf<NotSupportedException>()
            .With.Message.Contains("Bidirectional layer 'pair' has 2 outputs (merge mode null)"));
    }

    /// <summary>Functional graphs whose Bidirectional layers take initial states, return states or leave the directions unmerged.</summary>
    public static IEnumerable<string> BidirectionalGraphs() => ["states_feed_decoder", "unmerged", "states_two_nodes"];

    private static Model BidirectionalGraph(string kind)
    {
        var x = new Input([null, 2]);
        SymbolicTensor output;
        switch (kind)
        {
            case "states_feed_decoder":
            {
                var o = new Bidirectional(new LSTM(4, returnState: true)).ApplyMany(x);   // [merged, h_f, c_f, h_b, c_b]
                var decoded = new Bidirectional(new LSTM(4, returnSequences: true), "ave").ApplyMany([x, .. o[1..]])[0];
                output = new Dense(1).Apply(new Concatenate().ApplyMany(new GlobalAveragePooling1D().Apply(decoded), o[0])[0]);
                break;
            }
            case "unmerged":
            {
                var o = new Bidirectional(new GRU(3, returnSequences: true), mergeMode: null).ApplyMany(x);
                output = new TimeDistributed(new Dense(1)).Apply(new Multiply().ApplyMany(o[0], o[1])[0]);
                break;
            }
            default:
            {
                var o = new Bidirectional(new LSTM(3, returnState: true), "sum",
                    backwardLayer: new LSTM(3, useBias: false, returnState: true, goBackwards: true)).ApplyMany(x);
                output = new Dense(2).Apply(new Concatenate().ApplyMany(o)[0]);
                break;
            }
        }
        var m = new Model(x, output, name: kind) { Seed = 3 };
        m.Build();
        TestModels.Perturb(m, 3);
        return m;
    }

    [TestCaseSource(nameof(BidirectionalGraphs))]
    public void BidirectionalStatesAndUnmergedOutputsMatchInOnnxRuntime(string kind) => AssertMatchesOnnxRuntime(BidirectionalGraph(kind), kind, [7, 12]);

    [Test]
    public void StandardizationIsPartOfTheGraph()
    {
        var m = BuildTrainedLike(Chapter().First(k => k.Name == "deep_rnn_10"));
        var onnx = OnnxExporter.Export(m, new OnnxExportOptions { Standardization = (5.0, 2.0) });
        var raw = TestModels.Input([20, 1], 2, DType.Float32, seed: 4);
        var scaled = Tensor.FromArray(raw.ToFloatArray().Select(v => (v - 5f) / 2f).ToArray(), 2, 20, 1);
        var expected = m.Predict(scaled).ToFloatArray().Select(v => v * 2f + 5f).ToArray();
        var actual = RunOnnx(onnx, raw, out _);
        Assert.That(actual, Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void ExportedFileIsWrittenAndLoads()
    {
        var m = BuildTrainedLike(Chapter().First(k => k.Name == "gru"));
        string dir = TestModels.TempDir();
        try
        {
            string path = Path.Combine(dir, "gru.onnx");
            m.ExportOnnx(path);
            using var session = new InferenceSession(path);
            Assert.That(session.InputMetadata.Keys, Is.EqualTo(new[] { "input" }));
            Assert.That(session.InputMetadata["input"].Dimensions, Is.EqualTo(new[] { -1, -1, 1 }));
            Assert.That(session.OutputMetadata.Keys, Is.EqualTo(new[] { "output" }));
            Assert.That(session.ModelMetadata.ProducerName, Is.EqualTo("rnnx"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void CustomCellsAndActivationsAreNamedInTheError()
    {
        var m = new Sequential(new SimpleRNN(3, returnSequences: true, inputShape: [null, 1]), new RNN(new LNSimpleRNNCell(4), name: "ln_rnn"), new Dense(1));
        m.Build();
        var e = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(m))!;
        Assert.That(e.Message, Does.Contain("'ln_rnn'").And.Contain("LNSimpleRNNCell"));

        var swish = new Sequential(new Dense(2, new Activation("swish", x => x * Tensor.Sigmoid(x)), inputShape: [3], name: "dense_swish"));
        swish.Build();
        e = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(swish))!;
        Assert.That(e.Message, Does.Contain("'dense_swish'").And.Contain("swish"));

        Assert.Throws<InvalidOperationException>(() => OnnxExporter.Export(new Sequential(new Dense(1))));
    }
}
