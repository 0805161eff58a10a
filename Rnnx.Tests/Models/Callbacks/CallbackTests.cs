using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving;

namespace Rnnx.Tests.Models.Callbacks;

[TestFixture]
public sealed class CallbackTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = TestModels.TempDir();

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static Sequential Tiny(IOptimizer? optimizer = null)
    {
        var m = new Sequential(new Dense(2, inputShape: [3]), new Dense(1));
        m.Compile(optimizer ?? new Sgd(0.1), Losses.Loss.MeanSquaredError);
        m.Build();
        return m;
    }

    private static Dictionary<string, double> Logs(double valLoss, double loss = 1) => new() { ["loss"] = loss, ["val_loss"] = valLoss };

    private static void Drive(Callback c, Sequential m, params double[] valLosses)
    {
        c.Model = m;
        m.StopTraining = false;
        c.OnTrainBegin(new TrainingInfo(valLosses.Length, 1, 1, true));
        for (int e = 0; e < valLosses.Length && !m.StopTraining; e++)
        {
            c.OnEpochBegin(e);
            c.OnEpochEnd(e, Logs(valLosses[e]), 0);
        }
    }

    // ------------------------------------------------------------------ EarlyStopping

    [Test]
    public void EarlyStoppingStopsAfterPatienceEpochsWithoutImprovement()
    {
        var m = Tiny();
        var es = new EarlyStopping(patience: 2);
        Drive(es, m, 1.0, 0.5, 0.6, 0.55, 0.4);
        Assert.That(m.StopTraining, Is.True);
        Assert.That(es.StoppedEpoch, Is.EqualTo(3));
        Assert.That(es.BestEpoch, Is.EqualTo(1));
        Assert.That(es.Best, Is.EqualTo(0.5));
    }

    [Test]
    public void EarlyStoppingMinDeltaAndBaseline()
    {
        var m = Tiny();
        var es = new EarlyStopping(minDelta: 0.1, patience: 1);
        Drive(es, m, 1.0, 0.95, 0.92);   // 0.95 is not 0.1 better than 1.0
        Assert.That((m.StopTraining, es.StoppedEpoch), Is.EqualTo((true, 1)));

        var es2 = new EarlyStopping(patience: 2, baseline: 0.5);
        Drive(es2, m, 0.9, 0.8, 0.85);   // improvements that do not beat the baseline do not reset the wait (Keras)
        Assert.That((m.StopTraining, es2.StoppedEpoch), Is.EqualTo((true, 2)));
        var es2b = new EarlyStopping(patience: 2);
        Drive(es2b, m, 0.9, 0.8, 0.85);
        Assert.That(m.StopTraining, Is.False);

        var es3 = new EarlyStopping(monitor: "val_acc", patience: 0);
        es3.Model = m;
        m.StopTraining = false;
        es3.OnTrainBegin(new TrainingInfo(3, 1, 1, true));
        es3.OnEpochEnd(0, new Dictionary<string, double> { ["val_acc"] = 0.5 }, 0);
        es3.OnEpochEnd(1, new Dictionary<string, double> { ["val_acc"] = 0.7 }, 0);
        Assert.That(m.StopTraining, Is.False, "auto mode: acc is maximized");
        es3.OnEpochEnd(2, new Dictionary<string, double> { ["val_acc"] = 0.6 }, 0);
        Assert.That(m.StopTraining, Is.True);
    }

    [Test]
    public void EarlyStoppingRestoresBestWeightsWhenItStops()
    {
        var m = Tiny();
        var es = new EarlyStopping(patience: 1, restoreBestWeights: true) { Model = m };
        es.OnTrainBegin(new TrainingInfo(5, 1, 1, true));
        es.OnEpochEnd(0, Logs(1.0), 0);
        m.SetWeights(m.GetWeights().Select(w => w + 1.0).ToArray());
        var best = TestModels.Snapshot(m);
        es.OnEpochEnd(1, Logs(0.5), 0);
        m.SetWeights(m.GetWeights().Select(w => w + 1.0).ToArray());
        es.OnEpochEnd(2, Logs(0.7), 0);
        Assert.That(m.StopTraining, Is.True);
        Assert.That(es.RestoredBestWeights, Is.True);
        TestModels.AssertSame(TestModels.Snapshot(m), best, "best weights");
    }

    [Test]
    public void EarlyStoppingInFitAndMissingMonitor()
    {
        var m = Tiny();
        var x = TestModels.Input([3], 32, DType.Float32);
        var y = TestModels.Input([1], 32, DType.Float32, 2);
        var h = m.Fit(x, y, epochs: 50, validationData: (x, y), callbacks: [new EarlyStopping(patience: 0, minDelta: 10)], verbose: 0);
        Assert.That(h.Epochs, Is.EqualTo(2));
        Assert.That(h.StopReason, Is.EqualTo("stopped by a callback"));
        var e = Assert.Throws<InvalidOperationException>(() => m.Fit(x, y, epochs: 2, callbacks: [new EarlyStopping()], verbose: 0))!;
        Assert.That(e.Message, Does.Contain("'val_loss' is not in the epoch logs").And.Contain("validationData"));
    }

    // ------------------------------------------------------------------ ReduceLROnPlateau

    [Test]
    public void ReduceLROnPlateauFollowsKeras()
    {
        var m = Tiny(new Sgd(0.1));
        var r = new ReduceLROnPlateau(factor: 0.5, patience: 2, cooldown: 1, minLearningRate: 0.02);
        Drive(r, m, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0);
        Assert.That(r.Reductions.Select(p => p.Epoch), Is.EqualTo(new[] { 2, 5, 8 }));
        Assert.That(r.Reductions.Select(p => p.LearningRate), Is.EqualTo(new[] { 0.05, 0.025, 0.02 }));
        Assert.That(m.Optimizer!.LearningRate, Is.EqualTo(0.02));
    }

    [Test]
    public void ReduceLROnPlateauRefusesAScheduleBeforeTraining()
    {
        var m = Tiny(new Adam { LearningRateSchedule = new ExponentialDecay(0.01, 10, 0.5) });
        var before = TestModels.Snapshot(m);
        var x = TestModels.Input([3], 8, DType.Float32);
        var e = Assert.Throws<InvalidOperationException>(() => m.Fit(x, TestModels.Input([1], 8, DType.Float32), epochs: 1, validationData: (x, TestModels.Input([1], 8, DType.Float32)), callbacks: [new ReduceLROnPlateau()], verbose: 0))!;
        Assert.That(e.Message, Does.Contain("ExponentialDecay schedule"));
        TestModels.AssertSame(TestModels.Snapshot(m), before, "no training happened");
    }

    /// <summary>An optimizer outside Rnnx.Optimizers whose rate cannot be set, like one driven by a schedule.</summary>
    private sealed class ScheduledOnly : IOptimizer
    {
        public double LearningRate { get => 0.01; set => throw new InvalidOperationException("the rate comes from a schedule"); }

        public long Iterations => 0;

        public void Step(IReadOnlyList<Parameter> parameters, Gradients gradients) { }
    }

    [Test]
    public void ReduceLROnPlateauReportsARateThatCannotBeSet()
    {
        var m = Tiny(new ScheduledOnly());
        var r = new ReduceLROnPlateau(patience: 1);
        var e = Assert.Throws<InvalidOperationException>(() => Drive(r, m, 1.0, 1.0))!;
        Assert.That(e.Message, Does.Contain("ReduceLROnPlateau: the optimizer's learning rate cannot be set").And.Contain("the rate comes from a schedule"));
        Assert.That(r.Reductions, Is.Empty);
    }

    [Test]
    public void ReducedRateIsKeptInCheckpoints()
    {
        var m = Tiny(new Nadam(0.01));
        var x = TestModels.Input([3], 8, DType.Float32);
        var y = TestModels.Input([1], 8, DType.Float32, 3);
        m.Fit(x, y, epochs: 3, callbacks: [new ReduceLROnPlateau(monitor: "loss", factor: 0.5, patience: 0, minDelta: 100)], verbose: 0);
        Assert.That(m.Optimizer!.LearningRate, Is.EqualTo(0.01 * 0.25).Within(1e-15));
        string path = Path.Combine(_dir, "lr.rnnx");
        m.Save(path);
        Assert.That(Sequential.Load(path).Optimizer!.LearningRate, Is.EqualTo(m.Optimizer.LearningRate));
    }

    // ------------------------------------------------------------------ TerminateOnNaN

    private static (Sequential, Tensor, Tensor) Diverging()
    {
        var m = new Sequential(new Dense(1, inputShape: [2]));
        m.Compile(new Sgd(1e6), Losses.Loss.MeanSquaredError);
        var x = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => 100f + i).ToArray(), 32, 2);
        var y = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (float)i).ToArray(), 32, 1);
        return (m, x, y);
    }

    [Test]
    public void WithoutTerminateOnNaNDivergenceThrows()
    {
        var (m, x, y) = Diverging();
        Assert.Throws<TrainingDivergedException>(() => m.Fit(x, y, epochs: 20, batchSize: 4, verbose: 0));
    }

    [Test]
    public void TerminateOnNaNEndsTrainingNormally()
    {
        var (m, x, y) = Diverging();
        var t = new TerminateOnNaN();
        bool trainEnd = false;
        var h = m.Fit(x, y, epochs: 20, batchSize: 4, verbose: 0, callbacks: [t, new LambdaCallback { TrainBegin = _ => { } }, new EndProbe(() => trainEnd = true)]);
        Assert.That(t.Terminated, Is.True);
        Assert.That(t.Epoch, Is.Not.Null);
        Assert.That(h.StopReason, Does.StartWith("diverged at epoch"));
        Assert.That(h.Epochs, Is.EqualTo(t.Epoch!.Value - 1));
        Assert.That(trainEnd, Is.True);
        Assert.That(m.StopTraining, Is.True);
        Assert.That(m.GetWeights().SelectMany(w => w.ToFloatArray()).All(float.IsFinite), Is.True, "the bad step was not applied");
    }

    [Test]
    public void TerminateOnNaNChecksTheRunningLossAtBatchEnd()
    {
        var m = Tiny();
        var t = new TerminateOnNaN { Model = m };
        t.OnTrainBegin(new TrainingInfo(1, 1, 1, false));
        t.OnBatchEnd(0, 3, new Dictionary<string, double> { ["loss"] = double.NaN });
        Assert.That((t.Terminated, t.Epoch, t.Batch, m.StopTraining), Is.EqualTo((true, (int?)1, (int?)4, true)));
    }

    private sealed class EndProbe(Action onEnd) : Callback
    {
        public override void OnTrainEnd(History history) => onEnd();
    }

    // ------------------------------------------------------------------ CSVLogger

    [Test]
    public void CsvLoggerWritesSortedColumnsAndAppends()
    {
        var m = Tiny();
        m.Compile(new Sgd(0.1), Losses.Loss.MeanSquaredError, Metrics.Metric.MeanAbsoluteError);
        var x = TestModels.Input([3], 16, DType.Float32);
        var y = TestModels.Input([1], 16, DType.Float32, 2);
        string path = Path.Combine(_dir, "log.csv");
        var h = m.Fit(x, y, epochs: 2, validationData: (x, y), callbacks: [new CSVLogger(path)], verbose: 0);
        var lines = File.ReadAllLines(path);
        Assert.That(lines[0], Is.EqualTo("epoch,loss,mae,val_loss,val_mae"));
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[1].Split(',')[0], Is.EqualTo("0"));
        Assert.That(double.Parse(lines[2].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(h["loss"][1]));

        m.Fit(x, y, epochs: 3, initialEpoch: 2, validationData: (x, y), callbacks: [new CSVLogger(path, append: true)], verbose: 0);
        lines = File.ReadAllLines(path);
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(lines[3].Split(',')[0], Is.EqualTo("2"));

        m.Fit(x, y, epochs: 1, callbacks: [new CSVLogger(path, separator: ';')], verbose: 0);
        lines = File.ReadAllLines(path);
        Assert.That(lines, Is.EqualTo(new[] { "epoch;loss;mae", lines[1] }));
    }

    // ------------------------------------------------------------------ ModelCheckpoint

    [Test]
    public void CheckpointPathPatterns()
    {
        var logs = new Dictionary<string, double> { ["loss"] = 0.123456, ["val_loss"] = 0.5 };
        Assert.That(ModelCheckpoint.FormatPath("m-{epoch}.rnnx", 3, logs), Is.EqualTo("m-3.rnnx"));
        Assert.That(ModelCheckpoint.FormatPath("m-{epoch:02d}-{val_loss:.3f}.rnnx", 3, logs), Is.EqualTo("m-03-0.500.rnnx"));
        Assert.That(ModelCheckpoint.FormatPath("m-{epoch:D3}-{loss:F2}{{x}}", 12, logs), Is.EqualTo("m-012-0.12{x}"));
        Assert.Throws<FormatException>(() => ModelCheckpoint.FormatPath("m-{acc}", 1, logs));
        Assert.Throws<FormatException>(() => ModelCheckpoint.FormatPath("m-{epoch", 1, logs));
    }

    [Test]
    public void CheckpointSaveBestOnlyAndWeightsOnly()
    {
        var m = Tiny();
        var c = new ModelCheckpoint(Path.Combine(_dir, "best", "b-{epoch}.rnnx"), saveBestOnly: true) { Model = m };
        c.OnTrainBegin(new TrainingInfo(4, 1, 1, true));
        foreach (var (e, v) in new[] { (0, 1.0), (1, 0.8), (2, 0.9), (3, 0.7) }) c.OnEpochEnd(e, Logs(v), 0);
        Assert.That(c.SavedPaths.Select(Path.GetFileName), Is.EqualTo(new[] { "b-1.rnnx", "b-2.rnnx", "b-4.rnnx" }));
        Assert.That(ModelIO.Inspect(c.SavedPaths[^1]).Epoch, Is.EqualTo(4));
        Assert.That(c.Best, Is.EqualTo(0.7));

        var w = new ModelCheckpoint(Path.Combine(_dir, "w.safetensors"), saveWeightsOnly: true, saveFrequency: 2) { Model = m };
        w.OnEpochEnd(0, Logs(1), 0);
        Assert.That(w.SavedPaths, Is.Empty);
        w.OnEpochEnd(1, Logs(1), 0);
        Assert.That(ModelIO.Inspect(w.SavedPaths.Single()).Kind, Is.EqualTo("weights"));
    }
}
