using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;

namespace Rnnx.Tests.Models;

/// <summary>
/// What may and may not run beside a prediction or a training on one model: mutations are refused with both operations
/// named and nothing changed; predictions do not wait for each other; Fit's own callbacks may read and set weights.
/// </summary>
[NonParallelizable]
public class ConcurrentMutationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("rnnx-concurrency-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>Passes its input through; a batch of <see cref="BlockingBatch"/> rows waits at a gate.</summary>
    private sealed class GateLayer() : Layer("gate")
    {
        public const int BlockingBatch = 7;
        public readonly ManualResetEventSlim Entered = new(), Open = new();
        public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape;

        protected override Tensor Forward(Tensor input, bool training)
        {
            if (input.Shape[0] == BlockingBatch)
            {
                Entered.Set();
                Open.Wait(Timeout);
            }
            return input;
        }
    }

    /// <summary>Stops Fit after its first batch until opened.</summary>
    private sealed class GateCallback : Callback
    {
        public readonly ManualResetEventSlim Entered = new(), Open = new();

        public override void OnBatchEnd(int epoch, int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (epoch > 0 || batch > 0) return;
            Entered.Set();
            Open.Wait(Timeout);
        }
    }

    private static Sequential Lstm(params Layer[] extra) =>
        new([new LSTM(4, inputShape: [null, 1]), .. extra, new Dense(1)], "served", seed: 3);

    private static Tensor Series(int n, int seed = 1)
    {
        var r = new System.Random(seed);
        var xs = new float[n * 10];
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(r.NextDouble() - 0.5);
        return Tensor.FromArray(xs, n, 10, 1);
    }

    private static void AssertRefused(Action call, string operation, string running)
    {
        var e = Assert.Throws<InvalidOperationException>(() => call())!;
        Assert.That(e.Message, Does.Contain(operation).And.Contain($"while {running} is running"), e.Message);
    }

    [Test]
    public void WhilePredictRuns_MutationsAreRefused_OtherPredictionsRun_NothingChanges()
    {
        var gate = new GateLayer();
        var m = Lstm(gate);
        m.Compile(new Adam(), "mse");
        m.Build();
        string weightsFile = Path.Combine(_dir, "w.safetensors");
        m.SaveWeights(weightsFile);
        var before = m.GetWeights().Select(w => w.ToFloatArray()).ToArray();
        var x = Series(GateLayer.BlockingBatch);
        var alone = Lstm().Predict(x).ToFloatArray();   // same seed, same weights, no gate
        var y = Tensor.Zeros(new Shape(GateLayer.BlockingBatch, 1));

        float[]? blocked = null;
        var predicting = new Thread(() => blocked = m.Predict(x).ToFloatArray());
        predicting.Start();
        Assert.That(gate.Entered.Wait(Timeout), "the prediction reached the gate");
        try
        {
            AssertRefused(() => m.Fit(x, y, verbose: 0), "Fit", "Predict");
            AssertRefused(() => m.TrainOnBatch(x, y), "TrainOnBatch", "Predict");
            AssertRefused(() => m.SetWeights(m.GetWeights()), "SetWeights", "Predict");
            AssertRefused(() => m.LoadWeights(weightsFile), "LoadWeights", "Predict");
            AssertRefused(() => ModelIO.RestoreCheckpoint(m, weightsFile), "RestoreCheckpoint", "Predict");
            AssertRefused(() => m.Compile(new Sgd(), "mae"), "Compile", "Predict");

            // Predictions are not serialized: others complete while the first one waits.
            var other = Series(3, seed: 2);
            var otherAlone = Lstm().Predict(other).ToFloatArray();
            float[]? fromOtherThread = null;
            var t = new Thread(() => fromOtherThread = m.Predict(other).ToFloatArray());
            t.Start();
            Assert.That(t.Join(Timeout), "a second prediction finished while the first waits");
            Assert.That(fromOtherThread, Is.EqualTo(otherAlone));
        }
        finally
        {
            gate.Open.Set();
            predicting.Join(Timeout);
        }
        Assert.That(blocked, Is.EqualTo(alone));
        Assert.That(m.GetWeights().Select(w => w.ToFloatArray()), Is.EqualTo(before), "refused mutations changed nothing");
        Assert.That(m.Loss!.Name, Is.EqualTo(Rnnx.Losses.Loss.MeanSquaredError.Name), "the refused Compile changed nothing");
        Assert.DoesNotThrow(() => m.SetWeights(m.GetWeights()), "mutations run once the prediction is over");
    }

    [Test]
    public void WhileFitRuns_ReadsAndSecondTrainingAreRefused_FitFinishesNormally()
    {
        var m = Lstm();
        m.Compile(new Adam(), "mse");
        var x = Series(64);
        var y = Tensor.Zeros(new Shape(64, 1));
        var gate = new GateCallback();
        History? history = null;
        var fitting = new Thread(() => history = m.Fit(x, y, epochs: 2, callbacks: [gate], verbose: 0));
        fitting.Start();
        Assert.That(gate.Entered.Wait(Timeout), "Fit reached its first batch end");
        try
        {
            AssertRefused(() => m.Predict(x), "Predict", "Fit");
            AssertRefused(() => m.Predict(new float[10], 1, 10, 1), "Predict", "Fit");
            AssertRefused(() => m.Evaluate(x, y), "Evaluate", "Fit");
            AssertRefused(() => m.Call(x), "Call", "Fit");
            AssertRefused(() => m.GetWeights(), "GetWeights", "Fit");
            AssertRefused(() => m.Save(Path.Combine(_dir, "m.rnnx")), "Save", "Fit");
            AssertRefused(() => m.Fit(x, y, verbose: 0), "Fit", "Fit");
            AssertRefused(() => m.TrainOnBatch(x, y), "TrainOnBatch", "Fit");
            AssertRefused(() => m.SetWeights(new Tensor[m.Weights.Count]), "SetWeights", "Fit");
            Assert.That(File.Exists(Path.Combine(_dir, "m.rnnx")), Is.False, "the refused Save wrote nothing");
        }
        finally
        {
            gate.Open.Set();
            fitting.Join(Timeout);
        }
        Assert.That(history!.Epochs, Is.EqualTo(2));
        Assert.DoesNotThrow(() => m.Predict(x), "predictions run once Fit is over");
    }

    /// <summary>A callback reading, saving and restoring weights on Fit's own thread.</summary>
    private sealed class RestoringCallback(string path) : Callback
    {
        public float[]? Prediction;

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
        {
            var weights = Model!.GetWeights();
            Prediction = Model.Predict(Series(40)).ToFloatArray();
            Model.Save(path);
            Model.SetWeights(weights);
            Model.LoadWeights(path);
        }
    }

    [Test]
    public void FitCallbacks_MayPredictSaveAndSetWeights_OnFitsThread()
    {
        var m = Lstm();
        m.Compile(new Adam(), "mse");
        var cb = new RestoringCallback(Path.Combine(_dir, "cb.rnnx"));
        var x = Series(64);
        m.Fit(x, Tensor.Zeros(new Shape(64, 1)), epochs: 1, callbacks: [cb], verbose: 0);
        Assert.That(cb.Prediction, Is.EqualTo(m.Predict(Series(40)).ToFloatArray()));
    }

    [Test]
    public void FirstPredictionsRacingOnAnUnbuiltModel_BuildItOnce()
    {
        var x = Series(5);
        var expected = Lstm().Predict(x).ToFloatArray();
        for (int round = 0; round < 20; round++)
        {
            var m = Lstm();
            using var start = new Barrier(8);
            var results = new float[8][];
            var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                results[i] = m.Predict(x).ToFloatArray();
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.That(results, Has.All.EqualTo(expected), $"round {round}");
            Assert.That(m.Weights, Has.Count.EqualTo(5));
        }
    }
}
