using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;
using LNSimpleRNNCell = Rnnx.Cli.LNSimpleRNNCell;

namespace Rnnx.Tests.Saving;

[TestFixture]
public sealed class RoundTripTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup()
    {
        LNSimpleRNNCell.Register();
        _dir = TestModels.TempDir();
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static IEnumerable<TestModels.Case> Cases() => TestModels.All();

    private static void AssertSamePredictions(Sequential a, Sequential b, int[] inputShape)
    {
        var x = TestModels.Input(inputShape, 3, a.DType);
        var pa = a.Predict(x).ToDoubleArray();
        var pb = b.Predict(x).ToDoubleArray();
        Assert.That(pb.Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(pa.Select(BitConverter.DoubleToInt64Bits)), "predictions differ");
    }

    [TestCaseSource(nameof(Cases))]
    public void WeightsRoundTrip(TestModels.Case c)
    {
        var a = TestModels.Build(c, seed: 1);
        string path = Path.Combine(_dir, c.Name + ".safetensors");
        a.SaveWeights(path);
        var b = TestModels.Build(c, seed: 2);
        Assert.That(TestModels.Snapshot(b), Is.Not.EqualTo(TestModels.Snapshot(a)));
        b.LoadWeights(path);
        TestModels.AssertSame(TestModels.Snapshot(b), TestModels.Snapshot(a), c.Name);
        AssertSamePredictions(a, b, c.InputShape);
    }

    [TestCaseSource(nameof(Cases))]
    public void WholeModelRoundTrip(TestModels.Case c)
    {
        var a = TestModels.Build(c, seed: 3);
        string path = Path.Combine(_dir, c.Name + ModelIO.ModelExtension);
        a.Save(path);
        var b = Sequential.Load(path);
        Assert.That(b.Layers.Select(l => (l.GetType(), l.Name)), Is.EqualTo(a.Layers.Select(l => (l.GetType(), l.Name))));
        Assert.That(b.NamedWeights().Select(w => w.Name), Is.EqualTo(a.NamedWeights().Select(w => w.Name)));
        Assert.That(b.DType, Is.EqualTo(a.DType));
        Assert.That(b.Summary(), Is.EqualTo(a.Summary()));
        TestModels.AssertSame(TestModels.Snapshot(b), TestModels.Snapshot(a), c.Name);
        AssertSamePredictions(a, b, c.InputShape);
        // Saving the loaded model again gives the same bytes.
        string again = Path.Combine(_dir, c.Name + ".again.rnnx");
        b.Save(again);
        Assert.That(File.ReadAllBytes(again), Is.EqualTo(File.ReadAllBytes(path)));
    }

    [Test]
    public void RecurrentModelsPredictOtherLengthsAfterLoading()
    {
        var c = TestModels.All().First(k => k.Name == "lstm");
        var a = TestModels.Build(c);
        string path = Path.Combine(_dir, "lengths.rnnx");
        a.Save(path);
        var b = Sequential.Load(path);
        foreach (int len in new[] { 1, 9, 30 })
            AssertSamePredictions(a, b, [len, 1]);
    }

    [Test]
    public void CompiledModelKeepsLossMetricsOptimizerAndFrozenWeights()
    {
        var m = new Sequential(new SimpleRNN(3, inputShape: [null, 1]), new Dense(1));
        var opt = new Adam(0.003, beta1: 0.8, amsgrad: true) { ClipNorm = 1.5 };
        m.Compile(opt, Losses.Loss.MeanAbsoluteError, Metrics.Metric.MeanSquaredError);
        m.Build();
        m.Layers[1].Weights[1].Trainable = false;
        var x = TestModels.Input([5, 1], 16, DType.Float32);
        var y = TestModels.Input([1], 16, DType.Float32, seed: 9);
        m.Fit(x, y, epochs: 1, batchSize: 4, verbose: 0);
        string path = Path.Combine(_dir, "compiled.rnnx");
        m.Save(path, new SaveOptions { Metadata = new Dictionary<string, string> { ["note"] = "hello" } });

        var b = Sequential.Load(path);
        Assert.That(b.Loss!.Name, Is.EqualTo("mean_absolute_error"));
        Assert.That(b.Metrics.Select(k => k.Name), Is.EqualTo(new[] { "mse" }));
        var ob = (Adam)b.Optimizer!;
        Assert.That((ob.LearningRate, ob.Beta1, ob.Amsgrad, ob.ClipNorm, ob.Iterations), Is.EqualTo((0.003, 0.8, true, (double?)1.5, 4L)));
        Assert.That(b.Layers[1].Weights[1].Trainable, Is.False);
        Assert.That(b.ShuffleRngState, Is.EqualTo(m.ShuffleRngState));
        var info = ModelIO.Inspect(path);
        Assert.That(info.Kind, Is.EqualTo("model"));
        Assert.That(info.HasOptimizerState, Is.True);
        Assert.That(info.Metadata["note"], Is.EqualTo("hello"));

        var u = Sequential.Load(path, compile: false);
        Assert.That(u.Optimizer, Is.Null);
    }

    [Test]
    public void UnregisteredCustomCellIsAClearError()
    {
        var c = TestModels.All().First(k => k.Name == "ln_rnn_custom_cell");
        var a = TestModels.Build(c);
        string path = Path.Combine(_dir, "custom.rnnx");
        a.Save(path);
        Assert.That(LayerRegistry.Unregister("LNSimpleRNNCell"), Is.True);
        try
        {
            var e = Assert.Throws<ModelFormatException>(() => Sequential.Load(path))!;
            Assert.That(e.Message, Does.Contain("'LNSimpleRNNCell' is not registered").And.Contain("LayerRegistry.Register"));
        }
        finally
        {
            LNSimpleRNNCell.Register();
        }
        Assert.DoesNotThrow(() => Sequential.Load(path));
    }

    [Test]
    public void CustomActivationNeedsRegistration()
    {
        var swish = new Activation("swish_test", x => x * Tensor.Sigmoid(x));
        var m = new Sequential(new Dense(2, swish, inputShape: [3]));
        m.Build();
        string path = Path.Combine(_dir, "swish.rnnx");
        m.Save(path);
        var e = Assert.Throws<ModelFormatException>(() => Sequential.Load(path))!;
        Assert.That(e.Message, Does.Contain("activation 'swish_test'").And.Contain("RegisterActivation"));
        LayerRegistry.RegisterActivation(swish);
        var b = Sequential.Load(path);
        AssertSamePredictions(m, b, [3]);
    }

    [Test]
    public void LoadingAWeightsFileAsAModelIsAClearError()
    {
        var m = new Sequential(new Dense(2, inputShape: [3]));
        m.Build();
        string path = Path.Combine(_dir, "w.safetensors");
        m.SaveWeights(path);
        var e = Assert.Throws<ModelFormatException>(() => Sequential.Load(path))!;
        Assert.That(e.Message, Does.Contain("weights file"));
        Assert.That(ModelIO.Inspect(path).Kind, Is.EqualTo("weights"));
    }

    [Test]
    public void WritesAreAtomicAndLeaveNoTemporaryFiles()
    {
        var m = TestModels.Build(TestModels.All().First());
        string dir = Path.Combine(_dir, "atomic");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "m.rnnx");
        File.WriteAllText(path, "old contents");
        m.Save(path);
        Assert.That(Directory.GetFiles(dir), Is.EqualTo(new[] { path }));
        Assert.DoesNotThrow(() => Sequential.Load(path));
        Assert.Throws<DirectoryNotFoundException>(() => m.Save(Path.Combine(dir, "missing", "m.rnnx")));
    }

    [Test]
    public void FileFormatIsPlainSafetensors()
    {
        var m = new Sequential(new LSTM(2, inputShape: [null, 1]));
        m.Build();
        string path = Path.Combine(_dir, "plain.safetensors");
        m.SaveWeights(path);
        var bytes = File.ReadAllBytes(path);
        ulong n = BitConverter.ToUInt64(bytes, 0);
        Assert.That(n % 8, Is.EqualTo(0UL));
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)n).TrimEnd(' ');
        using var doc = System.Text.Json.JsonDocument.Parse(header);
        var k = doc.RootElement.GetProperty("lstm/kernel");
        Assert.That(k.GetProperty("dtype").GetString(), Is.EqualTo("F32"));
        Assert.That(k.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 1, 8 }));
        long begin = k.GetProperty("data_offsets")[0].GetInt64();
        float first = BitConverter.ToSingle(bytes, 8 + (int)n + (int)begin);
        Assert.That(first, Is.EqualTo(m.NamedWeights()[0].Parameter.Value.AsSpan<float>()[0]));
        Assert.That(doc.RootElement.GetProperty("__metadata__").GetProperty("rnnx.format").GetString(), Is.EqualTo("weights"));
    }
}
