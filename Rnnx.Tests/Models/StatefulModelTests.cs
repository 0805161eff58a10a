using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving;

namespace Rnnx.Tests.Models;

/// <summary>
/// Stateful recurrent layers in a Sequential model, with Keras's rules (keras.io, "Recurrent Neural Networks" guide,
/// "Cross-batch statefulness"; tf.keras Model.fit requires shuffle=False and batches of the layer's fixed size): states
/// carry across Predict, Evaluate and Fit batches, the data checks happen before anything runs, the states survive a
/// checkpoint, and data-parallel shards each keep their own rows' states.
/// </summary>
[TestFixture]
public sealed class StatefulModelTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = TestModels.TempDir();

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static Sequential Stateful(int batch, int seed = 42) =>
        new([new InputLayer([null, 1], batchSize: batch), new LSTM(5, returnSequences: true, stateful: true), new GRU(4, stateful: true), new Dense(1)], seed: seed);

    private static Sequential Plain(int seed = 42) =>
        new([new InputLayer([null, 1]), new LSTM(5, returnSequences: true), new GRU(4), new Dense(1)], seed: seed);

    private static (Tensor X, Tensor Y) Data(int samples, int steps, uint seed = 3) =>
        (TestModels.Input([steps, 1], samples, DType.Float32, seed), TestModels.Input([1], samples, DType.Float32, seed + 1));

    [Test]
    public void TheModelsBatchSizeReachesItsStatefulLayers()
    {
        var m = Stateful(4);
        m.Build();
        Assert.That(m.BatchSize, Is.EqualTo(4));
        Assert.That(m.Layers.OfType<RNN>().Select(l => l.BatchSize), Is.All.EqualTo(4));
    }

    /// <summary>
    /// Keras prints a fixed batch size in the shape column (keras/src/utils/summary_utils.py format_shape prints the
    /// output's full shape, whose batch axis is the Input's batch_size): "(4, None, 5)" rather than "(None, None, 5)".
    /// </summary>
    [Test]
    public void SummaryShowsTheFixedBatchSize()
    {
        var m = Stateful(4);
        m.Build();
        var text = m.Summary();
        Assert.That(text, Does.Contain("(4, None, 5)").And.Contain("(4, 4)").And.Contain("(4, 1)"));
        Assert.That(text, Does.Not.Contain("(None,"));

        // A stateful layer given the batch size itself, after a plain first layer.
        var own = new Sequential([new InputLayer([null, 1]), new LSTM(5, stateful: true, batchSize: 3), new Dense(1)]);
        own.Build();
        Assert.That(own.Summary(), Does.Contain("(3, 5)").And.Contain("(3, 1)"));

        var input = new Input([null, 1], batchSize: 2, name: "series");
        var f = new Model(input, new Dense(1, name: "head").Apply(new LSTM(5, stateful: true).Apply(input)));
        f.Build();
        var functional = f.Summary();
        Assert.That(functional, Does.Contain("[(2, None, 1)]").And.Contain("(2, 5)").And.Contain("(2, 1)"));

        var plain = Plain();
        plain.Build();
        Assert.That(plain.Summary(), Does.Contain("(None, None, 5)"), "no fixed batch: None");
    }

    [Test]
    public void PredictingInChunksEqualsPredictingTheWholeSeries()
    {
        var (x, _) = Data(4, 12);
        var plain = Plain();
        var stateful = Stateful(4);
        var expected = plain.Predict(x, batchSize: 4).ToFloatArray();
        stateful.Predict(Tensor.Slice(x, 1, 0, 7), batchSize: 4);
        var continued = stateful.Predict(Tensor.Slice(x, 1, 7, 12), batchSize: 4).ToFloatArray();
        Assert.That(continued, Is.EqualTo(expected).Within(2e-6));
        stateful.ResetStates();
        Assert.That(stateful.Predict(x, batchSize: 4).ToFloatArray(), Is.EqualTo(expected), "after ResetStates the model starts from zeros");
    }

    [Test]
    public void AFunctionalModelTakesItsInputsBatchSize()
    {
        static Model Create(int? batch)
        {
            var input = new Input([null, 1], batchSize: batch);
            var h = new LSTM(5, returnSequences: true, stateful: batch is not null).Apply(input);
            return new Model(input, new Dense(1).Apply(new GRU(4, stateful: batch is not null).Apply(h)));
        }
        var stateful = Create(4);
        var plain = Create(null);
        stateful.Build();
        plain.Build();
        plain.SetWeights(stateful.GetWeights());
        Assert.That(stateful.BatchSize, Is.EqualTo(4));
        var (x, _) = Data(4, 10);
        var expected = plain.Predict(x, batchSize: 4).ToFloatArray();
        stateful.Predict(Tensor.Slice(x, 1, 0, 6), batchSize: 4);
        Assert.That(stateful.Predict(Tensor.Slice(x, 1, 6, 10), batchSize: 4).ToFloatArray(), Is.EqualTo(expected).Within(2e-6));
        stateful.ResetStates();
        Assert.That(stateful.Predict(x, batchSize: 4).ToFloatArray(), Is.EqualTo(expected));

        // Saved mid-series, loaded, continued: the same as continuing the original.
        stateful.ResetStates();
        stateful.Predict(Tensor.Slice(x, 1, 0, 6), batchSize: 4);
        var path = Path.Combine(_dir, "functional-stateful.rnnx");
        stateful.Save(path);
        var loaded = ModelIO.LoadModel(path);
        Assert.That(loaded.BatchSize, Is.EqualTo(4));
        var rest = Tensor.Slice(x, 1, 6, 10);
        Assert.That(loaded.Predict(rest, batchSize: 4).ToFloatArray(), Is.EqualTo(stateful.Predict(rest, batchSize: 4).ToFloatArray()));
    }

    [Test]
    public void APredictionSplitOverThreadsKeepsEachRowsState()
    {
        // 64 series of 40 steps are enough work for Predict to split each batch over two threads.
        var (x, _) = Data(64, 40);
        float[] Chunked(int threads)
        {
            var m = new Sequential([new InputLayer([null, 1], batchSize: 64), new LSTM(20, returnSequences: true, stateful: true), new LSTM(20, stateful: true), new Dense(1)]);
            m.Threads = threads;
            m.Predict(Tensor.Slice(x, 1, 0, 25), batchSize: 64);
            return m.Predict(Tensor.Slice(x, 1, 25, 40), batchSize: 64).ToFloatArray();
        }
        var plain = new Sequential([new InputLayer([null, 1]), new LSTM(20, returnSequences: true), new LSTM(20), new Dense(1)]);
        var one = Chunked(1);
        Assert.That(Chunked(2), Is.EqualTo(one), "2 threads vs 1, bit for bit");
        Assert.That(one, Is.EqualTo(plain.Predict(x, batchSize: 64).ToFloatArray()).Within(2e-6), "chunks vs the whole series");
    }

    [Test]
    public void PredictManyRefusesRaggedDataBeforeTheStatesMoveAndCarriesThemLikePredict()
    {
        static Model Create()
        {
            var input = new Input([null, 1], batchSize: 4);
            return new Model(input, new Dense(1).Apply(new LSTM(5, stateful: true).Apply(input)));
        }
        var m = Create();
        var twin = Create();
        m.Build();
        twin.Build();
        twin.SetWeights(m.GetWeights());
        var (x, _) = Data(8, 6);
        m.PredictMany([x], batchSize: 4);
        var lstm = m.Layers.OfType<RNN>().Single();
        var before = lstm.GetStates().Select(s => s.ToFloatArray()).ToArray();
        Assert.That(before.SelectMany(s => s), Has.Some.Not.EqualTo(0f), "the first PredictMany moved the states");

        var (x10, _) = Data(10, 6);
        var ragged = Assert.Throws<ArgumentException>(() => m.PredictMany([x10], batchSize: 4));
        Assert.That(ragged!.Message, Does.Contain("PredictMany").And.Contain("10 samples").And.Contain("batch size 4"));
        Assert.Throws<ArgumentException>(() => m.PredictMany([x], batchSize: 2));
        var after = lstm.GetStates().Select(s => s.ToFloatArray()).ToArray();
        for (int i = 0; i < before.Length; i++) Assert.That(after[i], Is.EqualTo(before[i]), $"state {i} after the refused calls");

        // PredictMany continues the states as Predict does.
        twin.Predict(x, batchSize: 4);
        Assert.That(m.PredictMany([x], batchSize: 4)[0].ToFloatArray(), Is.EqualTo(twin.Predict(x, batchSize: 4).ToFloatArray()));
    }

    [Test]
    public void FitRefusesShufflingAndBatchesOfAnotherSizeBeforeTraining()
    {
        var m = Stateful(4);
        m.Compile(new Adam(), Losses.Loss.MeanSquaredError);
        var (x, y) = Data(12, 6);
        m.Build();
        var before = TestModels.Snapshot(m);
        var shuffled = Assert.Throws<ArgumentException>(() => m.Fit(x, y, batchSize: 4, verbose: 0));
        Assert.That(shuffled!.Message, Does.Contain("shuffle: false").And.Contain("lstm"));
        var other = Assert.Throws<ArgumentException>(() => m.Fit(x, y, batchSize: 3, shuffle: false, verbose: 0));
        Assert.That(other!.Message, Does.Contain("batches of 3").And.Contain("batch size 4"));
        var (x10, y10) = Data(10, 6);
        var ragged = Assert.Throws<ArgumentException>(() => m.Fit(x10, y10, batchSize: 4, shuffle: false, verbose: 0));
        Assert.That(ragged!.Message, Does.Contain("10 samples").And.Contain("batch size 4"));
        var validation = Assert.Throws<ArgumentException>(() => m.Fit(x, y, batchSize: 4, shuffle: false, validationData: (x10, y10), verbose: 0));
        Assert.That(validation!.Message, Does.Contain("validation"));
        Assert.Throws<ArgumentException>(() => m.Predict(x10, batchSize: 4));
        Assert.Throws<ArgumentException>(() => m.Evaluate(x, y, batchSize: 2));
        var single = Assert.Throws<ShapeMismatchException>(() => m.TrainOnBatch(Tensor.Slice(x, 0, 0, 3), Tensor.Slice(y, 0, 0, 3)));
        Assert.That(single!.Message, Does.Contain("batch of 3"));
        TestModels.AssertSame(TestModels.Snapshot(m), before, "weights after refused calls");
        Assert.That(m.Layers.OfType<RNN>().SelectMany(l => l.GetStates()).SelectMany(s => s.ToFloatArray()), Is.All.EqualTo(0f), "states after refused calls");
    }

    private static (double[][] Weights, float[][] States) Train(int threads, int shards, int epochs = 2)
    {
        var m = Stateful(6);
        m.Threads = threads;
        m.Shards = shards;
        m.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        var (x, y) = Data(24, 8);
        m.Fit(x, y, epochs: epochs, batchSize: 6, shuffle: false, verbose: 0);
        return (TestModels.Snapshot(m), m.Layers.OfType<RNN>().SelectMany(l => l.GetStates()).Select(s => s.ToFloatArray()).ToArray());
    }

    [Test]
    public void TrainingIsBitIdenticalAcrossThreadCountsAndEachShardKeepsItsRows()
    {
        var one = Train(threads: 1, shards: 3);
        var three = Train(threads: 3, shards: 3);
        TestModels.AssertSame(three.Weights, one.Weights, "weights, 3 threads vs 1");
        Assert.That(three.States, Is.EqualTo(one.States), "states, 3 threads vs 1");

        // One shard holds all six rows; three shards hold two each. Only the order of the gradient sums differs, so the
        // states agree to rounding: a shard that read or wrote another shard's rows would be far off.
        var whole = Train(threads: 1, shards: 1);
        for (int i = 0; i < whole.States.Length; i++)
            Assert.That(one.States[i], Is.EqualTo(whole.States[i]).Within(1e-4), $"state {i}, 3 shards vs 1");
        Assert.That(whole.States.SelectMany(s => s).Count(v => v != 0), Is.GreaterThan(0));
    }

    /// <summary>
    /// The first batch of a fresh stateful model on two shards and two threads: both shards may create the layers' state
    /// arrays at the same moment (each for its own rows); every shard's final states must be kept, the same bits as with
    /// one thread. Repeated, since the shards meet there only when their threads run at the same instant.
    /// </summary>
    [Test]
    public void TheShardsOfAFirstBatchKeepEachOthersStates()
    {
        var (x, y) = Data(8, 5);
        float[] States(Sequential m) => [.. ((RNN)m.Layers[1]).GetStates().SelectMany(t => t.ToFloatArray()), .. ((RNN)m.Layers[2]).GetStates().SelectMany(t => t.ToFloatArray())];
        var one = Stateful(8);
        one.Threads = 1;
        one.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        one.Fit(x, y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0);
        var expected = States(one);
        for (int round = 0; round < 60; round++)
        {
            var two = Stateful(8);
            two.Threads = 2;
            two.Shards = 2;
            two.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
            two.Fit(x, y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0);
            Assert.That(States(two), Is.EqualTo(expected), $"round {round}");
        }
    }

    [Test]
    public void ACheckpointCarriesTheStatesSoResumingIsExact()
    {
        var (x, y) = Data(12, 6);
        var straight = Stateful(4);
        straight.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        straight.Fit(x, y, epochs: 4, batchSize: 4, shuffle: false, verbose: 0);

        var first = Stateful(4);
        first.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        var ckpt = new ModelCheckpoint(Path.Combine(_dir, "stateful-{epoch:02d}.rnnx"));
        first.Fit(x, y, epochs: 2, batchSize: 4, shuffle: false, callbacks: [ckpt], verbose: 0);
        var info = ModelIO.Inspect(ckpt.SavedPaths[^1]);
        Assert.That(info.Tensors.Select(t => t.Name), Does.Contain(ModelIO.StatePrefix + "lstm/1"));

        var resumed = ModelIO.LoadCheckpoint(ckpt.SavedPaths[^1]);
        Assert.That(((RNN)resumed.Model.Layers[1]).Stateful, Is.True);
        Assert.That(((RNN)resumed.Model.Layers[1]).GetStates()[0].ToFloatArray(), Is.EqualTo(((RNN)first.Layers[1]).GetStates()[0].ToFloatArray()));
        resumed.Model.Fit(x, y, epochs: 4, batchSize: 4, shuffle: false, verbose: 0, initialEpoch: resumed.Epoch);
        TestModels.AssertSame(TestModels.Snapshot(resumed.Model), TestModels.Snapshot(straight), "resumed vs straight");

        // Restoring into an existing model sets the states too; without them the run differs (the states matter).
        var restored = Stateful(4);
        restored.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        int epoch = ModelIO.RestoreCheckpoint(restored, ckpt.SavedPaths[^1]);
        restored.Fit(x, y, epochs: 4, batchSize: 4, shuffle: false, verbose: 0, initialEpoch: epoch);
        TestModels.AssertSame(TestModels.Snapshot(restored), TestModels.Snapshot(straight), "restored vs straight");

        var reset = ModelIO.LoadCheckpoint(ckpt.SavedPaths[^1]).Model;
        reset.ResetStates();
        reset.Fit(x, y, epochs: 4, batchSize: 4, shuffle: false, verbose: 0, initialEpoch: 2);
        Assert.That(TestModels.Snapshot(reset), Is.Not.EqualTo(TestModels.Snapshot(straight)));
    }

    [Test]
    public void AFileWhoseStatesDoNotFitIsRefusedAndChangesNothing()
    {
        var (x, y) = Data(8, 5);
        var four = Stateful(4);
        four.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        four.Fit(x, y, batchSize: 4, shuffle: false, verbose: 0);
        var path = Path.Combine(_dir, "four.rnnx");
        four.Save(path);

        var two = Stateful(2);
        two.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        two.Build();
        var before = TestModels.Snapshot(two);
        var ex = Assert.Throws<ModelFormatException>(() => ModelIO.RestoreCheckpoint(two, path));
        Assert.That(ex!.Message, Does.Contain(ModelIO.StatePrefix + "lstm/0").And.Contain("[4, 5]").And.Contain("[2, 5]"));
        TestModels.AssertSame(TestModels.Snapshot(two), before, "weights after the refused restore");

        var plain = Plain();
        plain.Compile(new Adam(0.01), Losses.Loss.MeanSquaredError);
        var extra = Assert.Throws<ModelFormatException>(() => ModelIO.RestoreCheckpoint(plain, path));
        Assert.That(extra!.Message, Does.Contain("not a state of a stateful layer"));
    }

    [Test]
    public void OnnxExportRunsFromZeroStatesAsAfterResetStates()
    {
        var m = Stateful(3);
        var (x, _) = Data(3, 7);
        m.Predict(x, batchSize: 3);                     // carried states are not part of the graph
        var onnx = Rnnx.Onnx.OnnxExporter.Export(m);
        m.ResetStates();
        var expected = m.Predict(x, batchSize: 3).ToFloatArray();
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx);
        var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x.ToFloatArray(), x.Shape.ToArray());
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("input", input)]);
        var actual = results.Single(r => r.Name == "output").AsTensor<float>().ToArray();
        Assert.That(actual, Is.EqualTo(expected).Within(1e-5));
    }

    /// <summary>
    /// docs/saving-and-deploying.md's recipe for carrying states in ONNX Runtime: a functional twin whose initial states
    /// are inputs and whose final states are outputs (returnState), fed back call after call, gives the stateful model's
    /// predictions chunk after chunk.
    /// </summary>
    [Test]
    public void OnnxTwinWithStatesAsInputsAndOutputsCarriesThemLikeTheStatefulModel()
    {
        const int batch = 3;
        var stateful = new Sequential([new InputLayer([null, 1], batchSize: batch), new LSTM(5, stateful: true), new Dense(1)], seed: 11);
        stateful.Build();
        var x = new Input([null, 1], name: "x");
        var h0 = new Input([5], name: "h0");
        var c0 = new Input([5], name: "c0");
        var (last, h, c) = new LSTM(5, returnState: true, name: "lstm").ApplyMany(x, h0, c0);
        var twin = new Model([x, h0, c0], [new Dense(1, name: "forecast").Apply(last), h, c]);
        twin.Build();
        twin.SetWeights(stateful.GetWeights());

        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Rnnx.Onnx.OnnxExporter.Export(twin));
        Assert.That(session.InputNames, Is.EqualTo(new[] { "x", "h0", "c0" }));
        var (series, _) = Data(batch, 12);
        var states = new[] { new float[batch * 5], new float[batch * 5] };   // zeros: the stateful model after ResetStates
        foreach (var (from, to) in new[] { (0, 5), (5, 12) })
        {
            var chunk = Tensor.Slice(series, 1, from, to);
            var expected = stateful.Predict(chunk, batchSize: batch).ToFloatArray();
            var feeds = new[]
            {
                Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("x", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(chunk.ToFloatArray(), chunk.Shape.ToArray())),
                Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("h0", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(states[0], [batch, 5])),
                Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("c0", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(states[1], [batch, 5])),
            };
            using var results = session.Run(feeds);
            var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
            Assert.That(byName[session.OutputNames[0]], Is.EqualTo(expected).Within(1e-5), $"steps {from}..{to}");
            states = [byName[session.OutputNames[1]], byName[session.OutputNames[2]]];
        }
    }

    [Test]
    public void EvaluateUsesAndUpdatesTheStates()
    {
        var m = Stateful(4);
        m.Compile(new Adam(), Losses.Loss.MeanSquaredError);
        var (x, y) = Data(8, 5);
        var first = m.Evaluate(x, y, batchSize: 4)["loss"];
        var second = m.Evaluate(x, y, batchSize: 4)["loss"];
        Assert.That(second, Is.Not.EqualTo(first));
        m.ResetStates();
        Assert.That(m.Evaluate(x, y, batchSize: 4)["loss"], Is.EqualTo(first));
    }
}
