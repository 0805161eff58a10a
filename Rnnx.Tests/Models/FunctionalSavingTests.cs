using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Onnx;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Rnnx.Tests.Models;

/// <summary>
/// Functional models saved and restored: .rnnx round trip (Keras's functional config: inbound_nodes, input_layers,
/// output_layers), checkpoints with exact resume, and ONNX export run in ONNX Runtime (max |Δ| ≤ 1e-5).
/// </summary>
public class FunctionalSavingTests
{
    private string _dir = "";

    [SetUp]
    public void Setup() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "rnnx-functional-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>The four graphs the tests save: state passing, RepeatVector, a shared layer with merges, GRU states.</summary>
    public static IEnumerable<string> Graphs() => ["encoder_decoder", "repeat_vector", "shared_merge", "gru_states"];

    private static Model Create(string kind)
    {
        var x = new Input([null, 1], name: "series");
        switch (kind)
        {
            case "encoder_decoder":
            {
                var (encoded, h, c) = new LSTM(5, returnState: true).ApplyMany(x);
                var decoded = new LSTM(5, returnSequences: true).ApplyMany(new RepeatVector(10).Apply(encoded), h, c)[0];
                return new Model(x, new TimeDistributed(new Dense(1)).Apply(decoded), name: kind);
            }
            case "repeat_vector":
            {
                var encoded = new GRU(6).Apply(new SimpleRNN(4, returnSequences: true).Apply(x));
                var decoded = new SimpleRNN(6, returnSequences: true).Apply(new RepeatVector(10).Apply(encoded));
                return new Model(x, new Flatten().Apply(new TimeDistributed(new Dense(1)).Apply(decoded)), name: kind);
            }
            case "shared_merge":
            {
                var shared = new Dense(4, activation: Activation.Tanh);
                var last = new LSTM(4).Apply(x);
                var mean = new SimpleRNN(4).Apply(x);
                var a = shared.Apply(last);
                var b = shared.Apply(mean);
                var merged = new Concatenate().ApplyMany(new Add().ApplyMany(a, b)[0], new Multiply().ApplyMany(a, b)[0], new Average().ApplyMany(a, b, last)[0])[0];
                return new Model(x, new Dense(10).Apply(merged), name: kind);
            }
            default:
            {
                var (y, h) = new GRU(5, returnSequences: true, returnState: true).ApplyMany(x);
                var second = new GRU(5).ApplyMany(y, h)[0];
                return new Model(x, new Dense(10).Apply(second), name: kind);
            }
        }
    }

    private static Model Built(string kind)
    {
        var m = Create(kind);
        m.Seed = 5;
        m.Build();
        TestModels.Perturb(m, 4);
        return m;
    }

    [TestCaseSource(nameof(Graphs))]
    public void WholeModelRoundTrip(string kind)
    {
        var m = Built(kind);
        m.Compile(new Adam(0.01), Loss.MeanSquaredError);
        var (x, y) = ChapterSlices.Take(ChapterSlices.TenStep.Train, 48);
        if (kind == "repeat_vector") y = Tensor.Reshape(y, 48, 10);
        m.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0);
        string path = Path.Combine(_dir, kind + ".rnnx");
        m.Save(path);

        var loaded = Model.Load(path);
        Assert.That(loaded.IsFunctional, Is.True);
        Assert.That(loaded.Layers.Select(l => l.Name), Is.EqualTo(m.Layers.Select(l => l.Name)));
        Assert.That(loaded.NamedWeights().Select(w => w.Name), Is.EqualTo(m.NamedWeights().Select(w => w.Name)));
        Assert.That(loaded.Summary(), Is.EqualTo(m.Summary()));
        var (vx, _) = ChapterSlices.Take(ChapterSlices.TenStep.Valid, 20);
        Assert.That(loaded.Predict(vx).ToFloatArray(), Is.EqualTo(m.Predict(vx).ToFloatArray()));

        // Training continues identically: the optimizer state and shuffle state came along.
        loaded.Fit(x, y, epochs: 2, initialEpoch: 1, batchSize: 16, verbose: 0);
        m.Fit(x, y, epochs: 2, initialEpoch: 1, batchSize: 16, verbose: 0);
        TestModels.AssertSame(TestModels.Snapshot(loaded), TestModels.Snapshot(m), "continued after loading");

        var info = ModelIO.Inspect(path);
        Assert.That(info.Architecture, Does.Contain("\"format\":\"rnnx.functional\"").And.Contain("\"inbound_nodes\"")
            .And.Contain("\"input_layers\":[[\"series\",0,0]]").And.Contain("\"output_layers\""));
        var ex = Assert.Throws<ModelFormatException>(() => Sequential.Load(path));
        Assert.That(ex!.Message, Does.Contain("functional").And.Contain("Model.Load"));
    }

    [Test]
    public void StatePassingArchitectureListsTheStatesAsInputs()
    {
        var m = Built("encoder_decoder");
        string path = Path.Combine(_dir, "ed.rnnx");
        m.Save(path);
        var arch = ModelIO.Inspect(path).Architecture!;
        Assert.That(arch, Does.Contain("[[[\"repeat_vector\",0,0,{}],[\"lstm\",0,1,{}],[\"lstm\",0,2,{}]]]"));
    }

    [Test]
    public void CheckpointResumeIsExact()
    {
        var (x, y) = ChapterSlices.Take(ChapterSlices.TenStep.Train, 64);
        Model Compiled()
        {
            var m = Create("encoder_decoder");
            m.Compile(new Nadam(), Loss.MeanSquaredError);
            return m;
        }
        var straight = Compiled();
        straight.Fit(x, y, epochs: 3, batchSize: 16, verbose: 0);

        var first = Compiled();
        first.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0);
        string path = Path.Combine(_dir, "ckpt.rnnx");
        first.Save(path, new SaveOptions { Epoch = 1 });
        var second = Compiled();
        int epoch = ModelIO.RestoreCheckpoint(second, path);
        second.Fit(x, y, epochs: 3, batchSize: 16, verbose: 0, initialEpoch: epoch);
        TestModels.AssertSame(TestModels.Snapshot(second), TestModels.Snapshot(straight), "restored vs straight");
    }

    [Test]
    public void CorruptGraphsAreRefusedNamingTheProblem()
    {
        var m = Built("encoder_decoder");
        var json = Rnnx.Saving.Architecture.Describe(m);
        var cyclic = json.DeepClone().AsObject();
        // repeat_vector reads the decoder's output, which needs repeat_vector: a cycle.
        cyclic["layers"]![2]!["inbound_nodes"] = System.Text.Json.Nodes.JsonNode.Parse("[[[\"lstm_1\",0,0,{}]]]");
        var ex = Assert.Throws<ModelFormatException>(() => Rnnx.Saving.Architecture.Create(cyclic, ModelLoadOptions.Default, long.MaxValue));
        Assert.That(ex!.Message, Does.Contain("cycle").And.Contain("repeat_vector"));

        var dangling = json.DeepClone().AsObject();
        dangling["output_layers"] = System.Text.Json.Nodes.JsonNode.Parse("[[\"lstm\",0,7]]");
        ex = Assert.Throws<ModelFormatException>(() => Rnnx.Saving.Architecture.Create(dangling, ModelLoadOptions.Default, long.MaxValue));
        Assert.That(ex!.Message, Does.Contain("output_layers").And.Contain("lstm"));
    }

    [TestCaseSource(nameof(Graphs))]
    public void OnnxMatchesPredictInOnnxRuntime(string kind)
    {
        var m = Built(kind);
        var onnx = OnnxExporter.Export(m);
        foreach (int steps in new[] { 50, 37 })
            foreach (int batch in new[] { 1, 3 })
            {
                var x = TestModels.Input([steps, 1], batch, DType.Float32, seed: (uint)(steps + batch));
                var expected = m.Predict(x);
                using var session = new InferenceSession(onnx);
                using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(x.ToFloatArray(), x.Shape.ToArray()))]);
                var y = results.Single(r => r.Name == "output").AsTensor<float>();
                Assert.That(y.Dimensions.ToArray(), Is.EqualTo(expected.Shape.ToArray()), $"{kind}: shape");
                double maxErr = expected.ToFloatArray().Zip(y.ToArray(), (p, q) => Math.Abs(p - q)).Max();
                TestContext.Out.WriteLine($"{kind} steps {steps} batch {batch}: max abs error {maxErr:E2}");
                Assert.That(maxErr, Is.LessThanOrEqualTo(1e-5), $"{kind}: {steps} steps, batch {batch}");
            }
    }

    /// <summary>
    /// Two inputs (a series and a static feature vector joined by Concatenate) and two outputs: the graph takes and
    /// returns them by the Input and output layers' names, and matches PredictMany in ONNX Runtime.
    /// </summary>
    [Test]
    public void SeveralInputsAndOutputsMatchPredictManyInOnnxRuntime()
    {
        var series = new Input([null, 1], name: "series");
        var features = new Input([3], name: "features");
        var encoded = new LSTM(4, name: "encoder").Apply(series);
        var joined = new Concatenate().ApplyMany(encoded, features)[0];
        var forecast = new Dense(2, name: "forecast").Apply(joined);
        var level = new Dense(1, name: "level").Apply(encoded);
        var m = new Model([series, features], [forecast, level], name: "two_in_two_out");
        m.Seed = 5;
        m.Build();
        TestModels.Perturb(m, 4);
        var onnx = OnnxExporter.Export(m);
        foreach (int steps in new[] { 20, 7 })
        {
            var xs = TestModels.Input([steps, 1], 3, DType.Float32, seed: (uint)steps);
            var xf = TestModels.Input([3], 3, DType.Float32, seed: (uint)steps + 100);
            var expected = m.PredictMany([xs, xf]);
            using var session = new InferenceSession(onnx);
            Assert.That(session.InputMetadata.Keys, Is.EquivalentTo(new[] { "series", "features" }));
            Assert.That(session.OutputMetadata.Keys, Is.EqualTo(new[] { "forecast", "level" }));
            using var results = session.Run([
                NamedOnnxValue.CreateFromTensor("series", new DenseTensor<float>(xs.ToFloatArray(), xs.Shape.ToArray())),
                NamedOnnxValue.CreateFromTensor("features", new DenseTensor<float>(xf.ToFloatArray(), xf.Shape.ToArray()))]);
            string[] names = ["forecast", "level"];
            for (int o = 0; o < 2; o++)
            {
                var y = results.Single(r => r.Name == names[o]).AsTensor<float>();
                Assert.That(y.Dimensions.ToArray(), Is.EqualTo(expected[o].Shape.ToArray()), $"{names[o]}: shape");
                double maxErr = expected[o].ToFloatArray().Zip(y.ToArray(), (p, q) => Math.Abs(p - q)).Max();
                TestContext.Out.WriteLine($"{names[o]} steps {steps}: max abs error {maxErr:E2}");
                Assert.That(maxErr, Is.LessThanOrEqualTo(1e-5), $"{names[o]}: {steps} steps");
            }
        }
    }

    [Test]
    public void SeriesScalingOfSeveralInputsIsRefusedNamingTheModel()
    {
        var a = new Input([3]);
        var b = new Input([3]);
        var m = new Model([a, b], [new Add().ApplyMany(a, b)[0]], name: "two_inputs");
        m.Build();
        var ex = Assert.Throws<ArgumentException>(() => OnnxExporter.Export(m, new OnnxExportOptions { Standardization = (0, 1) }));
        Assert.That(ex!.Message, Does.Contain("two_inputs").And.Contain("2 inputs"));
    }
}
